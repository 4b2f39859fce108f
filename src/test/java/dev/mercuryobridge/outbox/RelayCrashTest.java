package dev.mercuryobridge.outbox;

import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.ingest.Callback;
import dev.mercuryobridge.ingest.IngestListener;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.db.generated.Tables.OUTBOX_PENDING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A relay that dies between Kafka's acknowledgement and marking the row re-sends the same message. */
class RelayCrashTest {
    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void message_re_published_after_a_crash_between_send_and_mark_has_the_same_id_and_bytes() throws Exception {
        IngestService ingest = new IngestService(f.dsl(), new Messages(f.config.topics()), IngestListener.NONE,
                Clock.systemUTC());
        byte[] body = """
                {"data":{"id":"crash1","type":"sell","status":"pending","updated_at_ts":100,"payment_method":"spend_card_topup"}}"""
                .getBytes(StandardCharsets.UTF_8);
        ingest.ingest(Callback.Route.TRANSACTION, body, new SignatureVerifier.Match(0, "test", SignatureVerifier.Variant.RAW));

        AtomicInteger marks = new AtomicInteger();
        OutboxRelay.Hooks crashOnce = new OutboxRelay.Hooks() {
            @Override
            public void beforeMark(List<Long> ids) {
                if (marks.getAndIncrement() == 0) {
                    throw new IllegalStateException("simulated crash after send, before mark");
                }
            }
        };
        OutboxRelay relay = f.relay("a", OutboxRelay.Settings.DEFAULTS, crashOnce);
        try (KafkaConsumer<String, String> consumer = f.consumer()) {
            // The first pass sends the row, Kafka acknowledges it, and the relay dies before marking it.
            assertThatThrownBy(relay::publishOnce).hasMessageContaining("simulated crash");
            assertThat(f.dsl().fetchCount(OUTBOX_PENDING)).isOne();

            // The next pass sends it again and marks it.
            assertThat(relay.publishOnce()).containsExactly("transaction/crash1/1");
            assertThat(marks.get()).isEqualTo(2);
            assertThat(f.dsl().fetchCount(OUTBOX_PENDING)).isZero();
            assertThat(relay.publishOnce()).isEmpty();

            // Both sends were acknowledged before publishOnce returned: they are on the topic.
            var records = TestKafka.readUntil(consumer, r -> r.size() >= 2, Duration.ofSeconds(30));
            assertThat(records).hasSize(2);
            assertThat(records.get(0).value()).isEqualTo(records.get(1).value());
            assertThat(Json.MAPPER.readTree(records.get(1).value()).get("id").asText()).isEqualTo("transaction/crash1/1");
            assertThat(TestKafka.drain(consumer, Duration.ofSeconds(1))).isEmpty();
        }
    }
}
