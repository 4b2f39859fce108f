package dev.mercuryobridge.outbox;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.db.generated.Tables.OUTBOX_PENDING;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/** PostgreSQL is the source of truth: a broker outage delays messages, never loses or reorders them. */
class KafkaOutageTest {
    private static final String[] STATUSES = {"new", "pending", "order_scheduled", "paid"};

    @Test
    void callbacks_are_accepted_while_the_broker_is_down_and_all_arrive_in_order_after_it_returns() throws Exception {
        try (TestKafka kafka = TestKafka.start();
             TestApp app = TestApp.start(TestApp.kafkaEnv(kafka.bootstrapServers()))) {
            // The topics exist and the relay is publishing before the outage.
            app.postCallback(TRANSACTION_PATH, transaction("warmup", "buy", "new", 1));
            try (KafkaConsumer<String, String> c = kafka.consumer(app.transactionsTopic())) {
                assertThat(TestKafka.readUntil(c, r -> !r.isEmpty(), Duration.ofSeconds(30))).isNotEmpty();
            }

            kafka.stopBroker();

            // 25 transactions x 4 statuses = 100 transitions, all while the broker is down.
            for (int step = 0; step < STATUSES.length; step++) {
                for (int t = 0; t < 25; t++) {
                    var response = app.postCallback(TRANSACTION_PATH, transaction("out" + t, "buy", STATUSES[step], 100 + step));
                    assertThat(response.statusCode()).isEqualTo(200);
                }
            }
            JsonNode ready = Json.MAPPER.readTree(app.admin("GET", "/health/ready", null).body());
            assertThat(app.admin("GET", "/health/ready", null).statusCode()).isEqualTo(200);
            assertThat(ready.at("/checks/kafka/status").asText()).isEqualTo("degraded");
            assertThat(app.dsl().fetchCount(OUTBOX_PENDING)).isGreaterThanOrEqualTo(100);

            kafka.startBroker();

            try (KafkaConsumer<String, String> consumer = kafka.consumer(app.transactionsTopic())) {
                var records = TestKafka.readUntil(consumer, r -> distinctIds(r, "out").size() >= 100, Duration.ofSeconds(90));
                records.addAll(TestKafka.drain(consumer, Duration.ofSeconds(2)));

                Map<String, String> byId = distinctIds(records, "out");
                assertThat(byId).hasSize(100);
                // A re-sent message is byte-for-byte the same message: same id, same content.
                for (var r : records) {
                    if (r.key().startsWith("out")) {
                        assertThat(r.value()).isEqualTo(byId.get(Json.MAPPER.readTree(r.value()).get("id").asText()));
                    }
                }
                for (int t = 0; t < 25; t++) {
                    assertThat(firstSequences(records, "out" + t)).as("out" + t).containsExactly(1, 2, 3, 4);
                }
            }
            assertThat(Json.MAPPER.readTree(app.admin("GET", "/health/ready", null).body()).at("/checks/kafka/status").asText())
                    .isEqualTo("up");
        }
    }

    static Map<String, String> distinctIds(List<ConsumerRecord<String, String>> records, String keyPrefix) {
        Map<String, String> byId = new HashMap<>();
        for (var r : records) {
            if (r.key() != null && r.key().startsWith(keyPrefix)) {
                try {
                    byId.putIfAbsent(Json.MAPPER.readTree(r.value()).get("id").asText(), r.value());
                } catch (Exception e) {
                    throw new AssertionError("not JSON: " + r.value(), e);
                }
            }
        }
        return byId;
    }

    /** The sequences of one key in arrival order, each counted at its first arrival. */
    static List<Integer> firstSequences(List<ConsumerRecord<String, String>> records, String key) {
        Map<Integer, Boolean> seen = new LinkedHashMap<>();
        for (var r : records) {
            if (key.equals(r.key())) {
                try {
                    seen.putIfAbsent(Json.MAPPER.readTree(r.value()).at("/data/sequence").asInt(), true);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        }
        return new ArrayList<>(seen.keySet());
    }
}
