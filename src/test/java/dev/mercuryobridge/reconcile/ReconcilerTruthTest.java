package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.testing.Callbacks;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.CARD_USER;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reconciler relies only on what Mercuryo documents: its clock, not ours; nobody signed in who
 * is not a registered card user; each finding once; misconfiguration loud; tokens and 403007 as
 * the API text says. Real HTTP to the simulator, real PostgreSQL and Kafka.
 */
class ReconcilerTruthTest {
    @RegisterExtension
    static final SimulatedApp f = SimulatedApp.perClass();



    private static long now() {
        return Instant.now().getEpochSecond();
    }

    private static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static List<JsonNode> messages(String topic, String key, int atLeast) {
        try (KafkaConsumer<String, String> consumer = TestKafka.shared().consumer(topic)) {
            List<ConsumerRecord<String, String>> records = TestKafka.readUntil(consumer,
                    rs -> rs.stream().filter(r -> key.equals(r.key())).count() >= atLeast, Duration.ofSeconds(30));
            records.addAll(TestKafka.drain(consumer, Duration.ofSeconds(1)));
            return records.stream().filter(r -> key.equals(r.key())).map(r -> json(r.value())).toList();
        }
    }

    @Test
    void a_real_succeeded_callback_after_the_reconciler_applied_pending_is_accepted_and_published_by_callback() throws Exception {
        CardUserRef user = f.sim().addUser("clock@sim.test");
        f.register(user);
        SellRequest request = f.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00400000"), new BigDecimal("95.38"));
        long t = now() - 600;
        f.post(Callbacks.TRANSACTION_PATH, Events.sellRequest(user, request.id(), "new", t, "95.38"));
        f.sim().setSellRequestStatus(request.id(), "pending");

        f.runReconciliation();
        var afterRead = f.app().dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(request.id()));
        assertThat(afterRead.getStatus()).isEqualTo("pending");
        assertThat(afterRead.getLastDetectedBy()).isEqualTo("reconciler");
        assertThat(afterRead.getUpdatedAtTs()).as("Mercuryo's time of the last callback, not our clock").isEqualTo(t);

        // Mercuryo's real callback, stamped before our read (t + 5 < now), arrives afterwards.
        f.sim().setSellRequestStatus(request.id(), "succeeded");
        var answer = f.app().postCallback(Callbacks.TRANSACTION_PATH, Events.sellRequest(user, request.id(), "succeeded", t + 5, "95.38"));
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.headers().firstValue("X-Callback-Outcome")).hasValue("accepted");

        var state = f.app().dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(request.id()));
        assertThat(state.getStatus()).isEqualTo("succeeded");
        assertThat(state.getLastDetectedBy()).isEqualTo("callback");
        assertThat(state.getUpdatedAtTs()).isEqualTo(t + 5);
        List<JsonNode> published = messages(f.app().transactionsTopic(), request.id(), 3);
        assertThat(published).extracting(m -> m.at("/data/sequence").asInt()).containsExactly(1, 2, 3);
        JsonNode read = published.get(1).get("data");
        assertThat(read.get("detected_by").asText()).isEqualTo("reconciler");
        assertThat(read.get("status_changed_at").isNull()).as("the API gives no time").isTrue();
        assertThat(read.get("observed_at").asText()).isNotBlank();
        JsonNode real = published.get(2).get("data");
        assertThat(real.get("detected_by").asText()).isEqualTo("callback");
        assertThat(real.get("status").asText()).isEqualTo("succeeded");
        assertThat(Instant.parse(real.get("status_changed_at").asText())).isEqualTo(Instant.ofEpochSecond(t + 5));

        // A later run finds nothing to apply: the callback was not missed.
        JsonNode second = f.runReconciliation();
        assertThat(second.get("status").asText()).isEqualTo("succeeded");
        assertThat(f.app().dsl().fetchCount(FINDING, FINDING.KIND.eq("missed_callback").and(FINDING.SUBJECT.eq(request.id()))))
                .isEqualTo(1);   // the pending read, nothing for succeeded
    }

    @Test
    void a_read_that_changes_nothing_is_not_a_missed_callback() throws Exception {
        CardUserRef user = f.sim().addUser("same@sim.test");
        f.register(user);
        SellRequest request = f.sim().createSellRequest(user.email(), "ETH", new BigDecimal("0.02000000"), new BigDecimal("40.00"));
        f.sim().setSellRequestStatus(request.id(), "pending");
        f.post(Callbacks.TRANSACTION_PATH, Events.sellRequest(user, request.id(), "pending", now() - 60, "40.00"));

        f.runReconciliation();

        assertThat(f.app().dsl().fetchCount(FINDING, FINDING.SUBJECT.eq(request.id()))).isZero();
        assertThat(f.app().dsl().fetchCount(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID.eq(request.id()))).isEqualTo(1);
        assertThat(f.app().dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(request.id())).getApiStatus())
                .isEqualTo("pending");
    }

    @Test
    void a_run_over_a_buyer_makes_no_sign_in() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            // The reference sample: a widget buy with the buyer's e-mail and uuid.
            assertThat(own.app().postCallback(Callbacks.TRANSACTION_PATH, Callbacks.REFERENCE_SAMPLE).statusCode()).isEqualTo(200);

            JsonNode run = own.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("succeeded");
            assertThat(own.sim().requestsTo(MercuryoSimulator.SIGN_IN)).isEmpty();
            assertThat(own.app().dsl().fetchCount(CARD_USER)).isZero();
            assertThat(run.get("needs_registration")).isEmpty();
            assertThat(run.get("items_checked").asInt()).isZero();
        }
    }

    @Test
    void a_card_user_without_a_registered_ip_is_listed_as_needing_registration_and_never_signed_in() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            CardUserRef user = own.sim().addUser("unregistered@sim.test");
            SellRequest request = own.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00100000"), new BigDecimal("25.00"));
            assertThat(own.app().postCallback(Callbacks.SPEND_CARD_PATH, Events.cardStatus(user)).statusCode()).isEqualTo(200);
            assertThat(own.app().postCallback(Callbacks.TRANSACTION_PATH,
                    Events.sellRequest(user, request.id(), "new", now() - 60, "25.00")).statusCode()).isEqualTo(200);

            JsonNode run = own.runReconciliation();

            assertThat(own.sim().requests()).as("nobody is signed in with a placeholder IP").isEmpty();
            assertThat(run.get("needs_registration")).singleElement().satisfies(entry -> {
                assertThat(entry.get("user_uuid").asText()).isEqualTo(user.userUuid());
                assertThat(entry.get("missing")).extracting(JsonNode::asText).containsExactly("ip");
                assertThat(entry.get("sell_requests")).extracting(JsonNode::asText).containsExactly(request.id());
            });

            // Once registered with the real IP, the user is checked.
            own.register(user);
            JsonNode next = own.runReconciliation();
            assertThat(next.get("needs_registration")).isEmpty();
            assertThat(own.sim().requestsTo(MercuryoSimulator.SIGN_IN)).singleElement()
                    .satisfies(r -> assertThat(r.header("B2B-User-Ip")).isEqualTo(user.ip()));
        }
    }

    @Test
    void two_runs_over_an_unknown_sell_request_publish_one_finding() throws Exception {
        CardUserRef user = f.sim().addUser("unknown@sim.test");
        f.register(user);
        String id = "0ffffffffffff0001";
        assertThat(f.app().adminJson("PUT", "/api/sell-requests/" + id, "{\"user_uuid\":\"" + user.userUuid() + "\"}").statusCode())
                .isEqualTo(200);

        f.runReconciliation();
        f.runReconciliation();

        var findings = f.app().dsl().selectFrom(FINDING).where(FINDING.SUBJECT.eq(id)).fetch();
        assertThat(findings).singleElement().satisfies(r -> {
            assertThat(r.getKind()).isEqualTo("missing_at_mercuryo");
            assertThat(r.getActual()).isNull();
            assertThat(r.getOccurrence()).isEqualTo(1);
        });
        assertThat(messages(f.app().app().config().topics().reconciliation(), id, 1)).hasSize(1);
    }

    @Test
    void a_resolved_finding_that_comes_back_is_reopened_and_published_again_with_a_new_id() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            CardUserRef user = own.sim().addUser("reopen@sim.test");
            own.register(user);
            own.sim().setBalance(user.email(), new BigDecimal("5.00"));
            own.runReconciliation();
            var drift = own.app().dsl().fetchSingle(FINDING, FINDING.KIND.eq("balance_drift"));
            assertThat(drift.getSubject()).isEqualTo(user.userUuid());
            assertThat(drift.getActual()).isEqualTo("5.00 EUR");

            own.sim().setBalance(user.email(), new BigDecimal("0.00"));
            own.runReconciliation();
            assertThat(own.app().dsl().fetchSingle(FINDING, FINDING.ID.eq(drift.getId())).getResolvedAt()).isNotNull();

            own.sim().setBalance(user.email(), new BigDecimal("5.00"));
            JsonNode third = own.runReconciliation();

            var reopened = own.app().dsl().fetchSingle(FINDING, FINDING.ID.eq(drift.getId()));
            assertThat(reopened.getResolvedAt()).isNull();
            assertThat(reopened.getOccurrence()).isEqualTo(2);
            assertThat(reopened.getRunId()).isEqualTo(third.get("id").asLong());
            assertThat(own.app().dsl().fetchCount(FINDING)).isEqualTo(1);
            List<JsonNode> published = messages(own.app().app().config().topics().reconciliation(), user.userUuid(), 2);
            assertThat(published).extracting(m -> m.get("id").asText())
                    .containsExactly("finding/" + drift.getId(), "finding/" + drift.getId() + "/2");
            assertThat(published.get(1).at("/data/occurrence").asInt()).isEqualTo(2);
        }
    }

    @Test
    void a_wrong_base_path_fails_the_run_as_a_configuration_error_with_no_findings() throws Exception {
        MercuryoSimulator sim = MercuryoSimulator.start(0, SimulatedApp.PARTNER_TOKEN);
        try (var app = dev.mercuryobridge.testing.TestApp.startOn(dev.mercuryobridge.testing.TestDatabase.freshDatabaseUrl(),
                SimulatedApp.env(sim, Map.of("MERCURYO_API_BASE_URL", sim.rootUrl() + "/wrong/base")))) {
            CardUserRef user = sim.addUser("misconfigured@sim.test");
            app.adminJson("PUT", "/api/card-users/" + user.userUuid(), "{\"email\":\"" + user.email() + "\",\"ip\":\"" + user.ip() + "\"}");
            app.adminJson("PUT", "/api/sell-requests/0abc0000000000001", "{\"user_uuid\":\"" + user.userUuid() + "\"}");

            JsonNode run = json(app.admin("POST", "/api/reconciliation/runs?wait=true").body());

            assertThat(run.get("status").asText()).isEqualTo("failed");
            assertThat(run.get("failure").asText()).startsWith("configuration:").contains("MERCURYO_API_BASE_URL");
            assertThat(run.get("findings").asInt()).isZero();
            assertThat(app.dsl().fetchCount(FINDING)).isZero();
            JsonNode ready = json(app.admin("GET", "/health/ready", null).body());
            assertThat(ready.at("/checks/reconciler/status").asText()).isEqualTo("degraded");
            assertThat(ready.at("/checks/reconciler/detail").asText())
                    .contains("/api/reconciliation/runs/" + run.get("id").asLong())
                    .doesNotContain("wrong/base");
        } finally {
            sim.close();
        }
    }

    @Test
    void an_html_page_where_mercuryo_should_answer_fails_the_run_with_no_findings() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            CardUserRef user = own.sim().addUser("html@sim.test");
            own.register(user);
            SellRequest request = own.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00100000"), new BigDecimal("25.00"));
            assertThat(own.app().adminJson("PUT", "/api/sell-requests/" + request.id(), "{\"user_uuid\":\"" + user.userUuid() + "\"}")
                    .statusCode()).isEqualTo(200);
            own.sim().answerRaw(MercuryoSimulator.SELL_REQUEST_STATUS, 404, "text/html", MercuryoSimulator.NOT_FOUND_PAGE, 5);
            own.sim().answerRaw(MercuryoSimulator.CARD_TRANSACTIONS, 404, null, "", 5);

            JsonNode run = own.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("failed");
            assertThat(run.get("failure").asText()).startsWith("configuration:");
            assertThat(own.app().dsl().fetchCount(FINDING)).isZero();
        }
    }

    @Test
    void another_active_transaction_at_sign_in_is_tried_again_later_in_the_run() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            CardUserRef user = own.sim().addUser("busy@sim.test");
            own.register(user);
            own.sim().failWith(MercuryoSimulator.SIGN_IN, user.email(), 403, 403007, "There's another active transaction", 1);

            JsonNode run = own.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("succeeded");
            assertThat(run.get("items_checked").asInt()).isEqualTo(1);
            assertThat(own.sim().requestsTo(MercuryoSimulator.SIGN_IN)).hasSize(2);
        }
    }

    @Test
    void a_user_mercuryo_keeps_refusing_with_403007_is_recorded_on_the_run_and_does_not_stop_it() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            CardUserRef busy = own.sim().addUser("always-busy@sim.test");
            CardUserRef free = own.sim().addUser("free@sim.test");
            own.register(busy);
            own.register(free);
            own.sim().failWith(MercuryoSimulator.SIGN_IN, busy.email(), 403, 403007, "There's another active transaction", 100);

            JsonNode run = own.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("partial");
            assertThat(run.get("error_detail")).singleElement().satisfies(e -> {
                assertThat(e.get("item").asText()).isEqualTo("card-user:" + busy.userUuid());
                assertThat(e.get("kind").asText()).isEqualTo("deferred");
            });
            assertThat(own.sim().requestsTo(MercuryoSimulator.SIGN_IN).stream()
                    .filter(r -> r.body().contains(busy.email()))).hasSize(Reconciler.DEFERRED_ROUNDS);
            assertThat(own.app().dsl().fetchSingle(CARD_USER, CARD_USER.USER_UUID.eq(free.userUuid())).getApiBalanceCheckedAt())
                    .isNotNull();
        }
    }

    @Test
    void a_blacklisted_ip_is_that_users_error_not_a_finding() throws Exception {
        try (SimulatedApp own = SimulatedApp.start()) {
            CardUserRef user = own.sim().addUser("blocked@sim.test");
            own.register(user);
            own.sim().blacklistIp(user.ip());

            JsonNode run = own.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("partial");
            assertThat(run.at("/error_detail/0/error").asText()).contains("403020");
            assertThat(own.app().dsl().fetchCount(FINDING)).isZero();
        }
    }
}
