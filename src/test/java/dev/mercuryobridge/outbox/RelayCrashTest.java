package dev.mercuryobridge.outbox;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.ingest.Callback;
import dev.mercuryobridge.ingest.IngestListener;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestDatabase;
import dev.mercuryobridge.testing.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static org.assertj.core.api.Assertions.assertThat;

/** A relay that dies between Kafka's acknowledgement and marking the row re-sends the same message. */
class RelayCrashTest {

    @Test
    void message_re_published_after_a_crash_between_send_and_mark_has_the_same_id() throws Exception {
        Config config = Config.fromEnvironment(TestApp.env(TestDatabase.freshDatabaseUrl(),
                TestApp.kafkaEnv(TestKafka.shared().bootstrapServers())));
        try (Database database = Database.connect(config)) {
            database.migrate();
            IngestService ingest = new IngestService(database.dsl(), new Messages(config.topics()), IngestListener.NONE,
                    java.time.Clock.systemUTC());
            byte[] body = """
                    {"data":{"id":"crash1","type":"sell","status":"pending","updated_at_ts":100,"payment_method":"spend_card_topup"}}"""
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ingest.ingest(Callback.Route.TRANSACTION, body,
                    new dev.mercuryobridge.ingest.SignatureVerifier.Match(0, "test", dev.mercuryobridge.ingest.SignatureVerifier.Variant.RAW));

            AtomicInteger crashes = new AtomicInteger();
            // Counted down by the relay's own hook: the test waits for the relay's second
            // after-send step, not for the consumer (which may see the re-sent record first).
            java.util.concurrent.CountDownLatch twoSends = new java.util.concurrent.CountDownLatch(2);
            KafkaClients kafka = new KafkaClients(config);
            OutboxRelay.AfterSend crashOnce = ids -> {
                if (ids.isEmpty()) {
                    return;
                }
                int before = crashes.getAndIncrement();
                twoSends.countDown();
                if (before == 0) {
                    throw new IllegalStateException("simulated crash after send, before mark");
                }
            };
            try (KafkaConsumerHolder consumer = new KafkaConsumerHolder(config.topics().transactions());
                 OutboxRelay relay = new OutboxRelay(config, database.dsl(), kafka::producer, kafka::admin,
                         new SimpleMeterRegistry(), 100, crashOnce).start()) {
                var records = TestKafka.readUntil(consumer.consumer, r -> r.size() >= 2, Duration.ofSeconds(30));

                assertThat(twoSends.await(30, java.util.concurrent.TimeUnit.SECONDS))
                        .as("the relay sent the message a second time after the crash").isTrue();
                assertThat(crashes.get()).isGreaterThanOrEqualTo(2);
                assertThat(records).hasSize(2);
                assertThat(records.get(0).value()).isEqualTo(records.get(1).value());
                assertThat(Json.MAPPER.readTree(records.get(1).value()).get("id").asText()).isEqualTo("transaction/crash1/1");
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (database.dsl().fetchCount(OUTBOX, OUTBOX.PUBLISHED_AT.isNull()) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(database.dsl().fetchCount(OUTBOX, OUTBOX.PUBLISHED_AT.isNull())).isZero();
                assertThat(TestKafka.drain(consumer.consumer, Duration.ofSeconds(1))).isEmpty();
            }
        }
    }

    private static final class KafkaConsumerHolder implements AutoCloseable {
        final org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer;

        KafkaConsumerHolder(String topic) {
            consumer = TestKafka.shared().consumer(List.of(topic).toArray(String[]::new));
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
