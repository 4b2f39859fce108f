package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestDatabase;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static org.assertj.core.api.Assertions.assertThat;

/** Mercuryo misbehaving: bursts of 5xx, expired tokens, a hanging endpoint; and two instances. */
class ReconcilerFaultsTest {

    /** Two card users, each with a sell request Mercuryo finished but whose callback never came. */
    private static void seed(SimulatedApp f) {
        for (String email : new String[] {"a@sim.test", "b@sim.test"}) {
            CardUserRef user = f.sim().addUser(email);
            SellRequest request = f.sim().createSellRequest(email, "BTC", new BigDecimal("0.00100000"), new BigDecimal("25.00"));
            f.sim().setSellRequestStatus(request.id(), "succeeded");
            f.register(user);
            assertThat(f.app().adminJson("PUT", "/api/sell-requests/" + request.id(), "{\"user_uuid\":\"" + user.userUuid() + "\"}")
                    .statusCode()).isEqualTo(200);
        }
    }

    private static int succeeded(SimulatedApp f) {
        return f.app().dsl().fetchCount(TRANSACTION_STATE, TRANSACTION_STATE.STATUS.eq("succeeded"));
    }

    @Test
    void a_burst_of_5xx_answers_is_retried_and_the_run_succeeds() throws Exception {
        try (SimulatedApp f = SimulatedApp.start()) {
            seed(f);
            f.sim().failNext(3);

            JsonNode run = f.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("succeeded");
            assertThat(run.get("errors").asInt()).isZero();
            assertThat(succeeded(f)).isEqualTo(2);
        }
    }

    @Test
    void expired_tokens_cause_exactly_one_new_sign_in_per_user() throws Exception {
        try (SimulatedApp f = SimulatedApp.start()) {
            seed(f);
            assertThat(f.runReconciliation().get("errors").asInt()).isZero();
            long signInsBefore = f.sim().signIns();

            f.sim().expireAllTokens();
            JsonNode run = f.runReconciliation();

            assertThat(run.get("status").asText()).isEqualTo("succeeded");
            assertThat(f.sim().signIns() - signInsBefore).isEqualTo(2);
        }
    }

    @Test
    void a_hanging_endpoint_times_out_and_the_run_finishes_with_the_error_recorded() throws Exception {
        try (SimulatedApp f = SimulatedApp.start(Map.of("MERCURYO_API_TIMEOUT", "PT0.3S"))) {
            seed(f);
            f.sim().hang(MercuryoSimulator.CARD_BALANCE);

            long started = System.nanoTime();
            JsonNode run = f.runReconciliation();
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            f.sim().clearFaults();

            assertThat(run.get("status").asText()).isEqualTo("partial");
            assertThat(run.get("errors").asInt()).isEqualTo(2);
            assertThat(run.at("/error_detail/0/item").asText()).startsWith("card-user:");
            assertThat(run.at("/error_detail/0/error").asText()).contains("HttpTimeoutException");
            // The other items were still checked: both missed statuses are applied.
            assertThat(succeeded(f)).isEqualTo(2);
            assertThat(took).isLessThan(Duration.ofSeconds(30));
        }
    }

    @Test
    void two_instances_never_run_a_reconciliation_at_once() throws Exception {
        try (SimulatedApp f = SimulatedApp.start()) {
            seed(f);
            String url = f.app().app().config().databaseUrl();
            try (TestApp second = TestApp.startOn(url, SimulatedApp.env(f.sim(), Map.of()))) {
                f.sim().slow(Duration.ofMillis(700));

                var first = f.app().admin("POST", "/api/reconciliation/runs");
                var other = second.admin("POST", "/api/reconciliation/runs");
                var again = f.app().admin("POST", "/api/reconciliation/runs");

                assertThat(first.statusCode()).isEqualTo(202);
                assertThat(other.statusCode()).isEqualTo(409);
                assertThat(Json.MAPPER.readTree(other.body()).get("error").asText()).isEqualTo("run_in_progress");
                assertThat(again.statusCode()).isEqualTo(409);

                long id = Json.MAPPER.readTree(first.body()).get("id").asLong();
                f.app().app().reconciler().awaitStartedRuns(Duration.ofSeconds(60));
                assertThat(f.get("/api/reconciliation/runs/" + id).at("/run/status").asText()).isEqualTo("succeeded");
                f.sim().clearFaults();
                // Once it has finished, the other instance may run.
                assertThat(second.admin("POST", "/api/reconciliation/runs?wait=true").statusCode()).isEqualTo(200);
            }
        }
    }
}
