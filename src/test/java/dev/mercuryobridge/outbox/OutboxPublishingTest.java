package dev.mercuryobridge.outbox;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static dev.mercuryobridge.testing.Callbacks.SPEND_CARD_PATH;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.cardStatusEvent;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/** What the service stores reaches Kafka exactly as stored, in order, once per change. */
class OutboxPublishingTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    private static JsonNode json(ConsumerRecord<String, String> r) throws Exception {
        return Json.MAPPER.readTree(r.value());
    }

    private static List<ConsumerRecord<String, String>> forKey(List<ConsumerRecord<String, String>> all, String key) {
        return all.stream().filter(r -> key.equals(r.key())).toList();
    }

    @Test
    void new_pending_paid_gives_three_messages_in_order_and_duplicates_or_late_ones_add_none() throws Exception {
        String id = "pub" + UUID.randomUUID().toString().substring(0, 8);
        try (KafkaConsumer<String, String> consumer = TestKafka.shared().consumer(app.transactionsTopic())) {
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "new", 100));
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "pending", 110));
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "pending", 110));   // duplicate
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "paid", 120));
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "new", 90));        // late, stale

            var records = TestKafka.readUntil(consumer, r -> forKey(r, id).size() >= 3, Duration.ofSeconds(30));
            records.addAll(TestKafka.drain(consumer, Duration.ofSeconds(2)));
            var mine = forKey(records, id);

            assertThat(mine).hasSize(3);
            assertThat(mine).extracting(r -> json(r).at("/data/sequence").asInt()).containsExactly(1, 2, 3);
            assertThat(mine).extracting(r -> json(r).at("/data/status").asText()).containsExactly("new", "pending", "paid");
            assertThat(mine).extracting(r -> json(r).at("/data/previous_status").isNull()).containsExactly(true, false, false);
            assertThat(mine).extracting(r -> json(r).get("id").asText()).doesNotHaveDuplicates();

            JsonNode paid = json(mine.get(2));
            assertThat(paid.get("specversion").asText()).isEqualTo("1.0");
            assertThat(paid.get("type").asText()).isEqualTo("mercuryo.transaction.status_changed");
            assertThat(paid.get("source").asText()).isEqualTo("mercuryo-bridge");
            assertThat(paid.get("subject").asText()).isEqualTo(id);
            assertThat(paid.get("id").asText()).isEqualTo("transaction/" + id + "/3");
            assertThat(paid.at("/data/final").asBoolean()).isTrue();
            assertThat(paid.at("/data/previous_status").asText()).isEqualTo("pending");
            assertThat(paid.at("/data/amount").isTextual()).isTrue();
            assertThat(paid.at("/data/amount").asText()).isEqualTo("0.00148310");
            assertThat(paid.at("/data/fiat_amount").asText()).isEqualTo("50.00");
            assertThat(paid.at("/data/detected_by").asText()).isEqualTo("callback");
            assertThat(paid.at("/data/status_changed_at").asText()).isEqualTo("1970-01-01T00:02:00Z");
            assertThat(TestKafka.header(mine.get(2), "content-type")).isEqualTo("application/cloudevents+json");
            for (var r : mine) {
                Schemas.assertValid("transactions", json(r).get("data"));
            }
        }
    }

    @Test
    void spend_card_event_is_published_keyed_by_card() throws Exception {
        String eventId = UUID.randomUUID().toString();
        String card = "card" + UUID.randomUUID().toString().substring(0, 8);
        try (KafkaConsumer<String, String> consumer = TestKafka.shared().consumer(app.app().config().topics().spendCard())) {
            app.postCallback(SPEND_CARD_PATH, cardStatusEvent(eventId, card, "active"));
            app.postCallback(SPEND_CARD_PATH, cardStatusEvent(eventId, card, "active"));

            var records = TestKafka.readUntil(consumer, r -> !r.isEmpty(), Duration.ofSeconds(30));
            records.addAll(TestKafka.drain(consumer, Duration.ofSeconds(1)));

            assertThat(records).hasSize(1);
            assertThat(records.getFirst().key()).isEqualTo(card);
            JsonNode event = json(records.getFirst());
            assertThat(event.get("type").asText()).isEqualTo("mercuryo.spend_card.card_status");
            assertThat(event.get("id").asText()).isEqualTo("spend-card/" + eventId);
            assertThat(event.at("/data/event/status").asText()).isEqualTo("active");
            Schemas.assertValid("spend-card", event.get("data"));
        }
    }

    @Test
    void conflicting_final_status_is_published_as_a_finding() throws Exception {
        String id = "conf" + UUID.randomUUID().toString().substring(0, 8);
        try (KafkaConsumer<String, String> consumer = TestKafka.shared().consumer(app.app().config().topics().reconciliation())) {
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "paid", 100));
            app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "cancelled", 200));

            var records = TestKafka.readUntil(consumer, r -> !forKey(r, id).isEmpty(), Duration.ofSeconds(30));
            JsonNode finding = json(forKey(records, id).getFirst());
            assertThat(finding.at("/data/kind").asText()).isEqualTo("final_status_conflict");
            assertThat(finding.at("/data/expected").asText()).isEqualTo("paid");
            assertThat(finding.at("/data/actual").asText()).isEqualTo("cancelled");
            Schemas.assertValid("reconciliation", finding.get("data"));
        }
    }

    @Test
    void readiness_reports_kafka_and_metrics_report_the_outbox() throws Exception {
        var ready = app.admin("GET", "/health/ready", null);
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(ready.body()).at("/checks/kafka/status").asText()).isEqualTo("up");
        assertThat(Json.MAPPER.readTree(ready.body()).at("/checks/relay/status").asText()).isEqualTo("up");
        String metrics = app.admin("GET", "/metrics", null).body();
        assertThat(metrics).contains("outbox_backlog", "outbox_oldest_age_seconds", "outbox_publish_latency_seconds",
                "outbox_publish_errors_total", "outbox_relay_leader 1.0", "outbox_relay_alive 1.0",
                "outbox_relay_loop_age_seconds");
    }
}
