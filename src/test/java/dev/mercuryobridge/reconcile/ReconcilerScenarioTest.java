package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CallbackSender;
import dev.mercuryobridge.simulator.Scenario;
import dev.mercuryobridge.simulator.SimCallback;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.simulator.Truth;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reconciler against the simulator over real HTTP: 200 sell requests, callbacks dropped,
 * duplicated and reordered. One run must bring every sell request to Mercuryo's state, publish
 * each transition once per id, and raise exactly the findings the dropped callbacks imply.
 */
class ReconcilerScenarioTest {

    @Test
    void one_run_catches_exactly_the_dropped_callbacks_and_nothing_else() throws Exception {
        try (SimulatedApp f = SimulatedApp.start();
             KafkaConsumer<String, String> consumer = TestKafka.shared().consumer(f.app().transactionsTopic());
             CallbackSender sender = new CallbackSender(URI.create("http://127.0.0.1:" + f.app().app().httpPort()), TestApp.SIGN_KEY)) {
            // Timestamps end now: a movement is matched within 72 h of its callback's receipt.
            Scenario scenario = Scenario.endingAt(new Scenario.Config(42, 20, 200, 3, 0.10, 0.05, 0.05, Duration.ZERO, 0.15),
                    java.time.Instant.now().getEpochSecond());
            // The operator registers each card user (e-mail and real IP) when they open their card.
            scenario.truth().usersByEmail().values().forEach(f::register);
            Scenario.Run played = scenario.run(f.sim(), sender);
            Truth truth = played.truth();
            assertThat(played.result().non200Answers()).isZero();
            assertThat(truth.sellRequestsWhoseLastDeliveredStatusIsNotFinal()).isNotEmpty();

            JsonNode run = f.runReconciliation();
            assertThat(run.get("status").asText()).isEqualTo("succeeded");
            assertThat(run.get("errors").asInt()).isZero();

            // Sell requests no transaction callback told us of, but whose crypto_top_up came: watched, then caught.
            Set<String> revealedByTopUp = truth.deliveredCardEvents().stream()
                    .filter(c -> c.kind() == SimCallback.Kind.CRYPTO_TOP_UP)
                    .map(SimCallback::sellRequestId)
                    .filter(truth.sellRequestsNeverDelivered()::contains)
                    .collect(Collectors.toSet());
            Set<String> missed = new java.util.HashSet<>(truth.sellRequestsWhoseLastDeliveredStatusIsNotFinal());
            missed.addAll(revealedByTopUp);

            // Every sell request we know of now holds Mercuryo's status.
            Map<String, String> stored = f.app().dsl().select(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS)
                    .from(TRANSACTION_STATE).fetchMap(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS);
            for (var e : truth.finalStatusBySellRequest().entrySet()) {
                if (!truth.sellRequestsNeverDelivered().contains(e.getKey()) || revealedByTopUp.contains(e.getKey())) {
                    assertThat(stored.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
                }
            }

            // Findings: exactly the injected faults, nothing else.
            Map<String, Set<String>> findings = f.app().dsl().select(FINDING.KIND, FINDING.SUBJECT).from(FINDING)
                    .fetchGroups(FINDING.KIND, FINDING.SUBJECT).entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> Set.copyOf(e.getValue())));
            assertThat(findings.keySet()).isSubsetOf("missed_callback", "unseen_card_transaction", "balance_drift");
            assertThat(findings.getOrDefault("missed_callback", Set.of())).isEqualTo(missed);

            Map<String, String> uuidByEmail = truth.usersByEmail().entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().userUuid()));
            int unseen = truth.unseenLedgerItems().values().stream().mapToInt(List::size).sum();
            assertThat(unseen).as("the scenario loses card money").isPositive();
            assertThat(f.app().dsl().fetchCount(FINDING, FINDING.KIND.eq("unseen_card_transaction"))).isEqualTo(unseen);
            assertThat(findings.getOrDefault("unseen_card_transaction", Set.of()))
                    .isEqualTo(truth.unseenLedgerItems().keySet().stream().map(uuidByEmail::get).collect(Collectors.toSet()));
            assertThat(findings.getOrDefault("balance_drift", Set.of()))
                    .isEqualTo(truth.expectedDriftUsers().stream().map(uuidByEmail::get).collect(Collectors.toSet()));
            for (String email : truth.expectedDriftUsers()) {
                var drift = f.app().dsl().fetchSingle(FINDING, FINDING.KIND.eq("balance_drift")
                        .and(FINDING.SUBJECT.eq(uuidByEmail.get(email))));
                assertThat(drift.getExpected()).isEqualTo(truth.expectedBalanceByEmail().get(email).toPlainString() + " EUR");
            }

            // Missed callbacks are corrected transitions, detected by the reconciler.
            for (String id : missed) {
                var last = f.app().dsl().selectFrom(STATUS_TRANSITION).where(STATUS_TRANSITION.TRANSACTION_ID.eq(id))
                        .orderBy(STATUS_TRANSITION.SEQUENCE.desc()).limit(1).fetchSingle();
                assertThat(last.getDetectedBy()).isEqualTo("reconciler");
                assertThat(last.getFinal()).isTrue();
            }

            // Each transition on Kafka once per id (re-sends carry identical bytes), all of them.
            int transitions = f.app().dsl().fetchCount(STATUS_TRANSITION);
            List<ConsumerRecord<String, String>> records = TestKafka.readUntil(consumer,
                    r -> ids(r).size() >= transitions, Duration.ofSeconds(60));
            records.addAll(TestKafka.drain(consumer, Duration.ofSeconds(2)));
            Map<String, String> byId = new HashMap<>();
            for (var r : records) {
                String id = Json.MAPPER.readTree(r.value()).get("id").asText();
                String before = byId.putIfAbsent(id, r.value());
                assertThat(before == null || before.equals(r.value())).as("same id, same message: " + id).isTrue();
            }
            assertThat(byId).hasSize(transitions);

            // The run and its findings on the admin API.
            JsonNode detail = f.get("/api/reconciliation/runs/" + run.get("id").asLong());
            assertThat(detail.get("findings")).hasSize(f.app().dsl().fetchCount(FINDING));
            assertThat(f.get("/api/reconciliation/runs").get("items")).hasSize(1);

            // A second run finds nothing new: the state is corrected and findings are not repeated.
            JsonNode second = f.runReconciliation();
            assertThat(second.get("findings").asInt()).isZero();
            assertThat(second.get("status").asText()).isEqualTo("succeeded");
        }
    }

    private static Set<String> ids(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(r -> {
            try {
                return Json.MAPPER.readTree(r.value()).get("id").asText();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).collect(Collectors.toSet());
    }
}
