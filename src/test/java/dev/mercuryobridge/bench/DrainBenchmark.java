package dev.mercuryobridge.bench;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.outbox.KafkaClients;
import dev.mercuryobridge.outbox.OutboxRelay;
import dev.mercuryobridge.testing.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.jooq.Record3;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;

/**
 * {@code make bench-drain}: how fast the relay drains a backlog (e.g. after a Kafka outage), on a
 * durable PostgreSQL, beside a bare producer sending the same messages to the same broker in the
 * same run (the ceiling: no database at all).
 *
 * <p>Arguments: {@code rows=100000 bytes=600}.
 */
public final class DrainBenchmark {

    public static void main(String[] args) throws Exception {
        Map<String, Integer> opts = new HashMap<>(Map.of("rows", 100_000, "bytes", 600));
        for (String a : args) {
            String[] kv = a.split("=", 2);
            opts.put(kv[0], Integer.parseInt(kv[1]));
        }
        int rows = opts.get("rows");
        System.out.printf("mercuryo-bridge relay drain benchmark: %,d outbox rows of %d bytes, durable PostgreSQL"
                + " (fsync=on, synchronous_commit=on), %d cores%n", rows, opts.get("bytes"),
                Runtime.getRuntime().availableProcessors());
        Path pgDir = Files.createTempDirectory("bench-drain-pg");
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setDataDirectory(pgDir).setCleanDataDirectory(true)
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .start();
             TestKafka kafka = TestKafka.start()) {
            Map<String, String> env = new HashMap<>(Map.of(
                    "ADMIN_TOKEN", "bench-admin-token-0123456789",
                    "MERCURYO_SIGN_KEYS", "bench-sign-key-0123456789abcdef",
                    "DATABASE_URL", pg.getJdbcUrl("postgres", "postgres"),
                    "DATABASE_USER", "postgres",
                    "DATABASE_PASSWORD", "postgres",
                    "KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
                    "KAFKA_TOPIC_TRANSACTIONS", "drain.transactions"));
            Config config = Config.fromEnvironment(env);
            KafkaClients clients = new KafkaClients(config);
            try (Database database = Database.connect(config); Admin admin = clients.admin()) {
                database.migrate();
                KafkaClients.ensureTopics(admin, config);
                String bareTopic = "drain.bare";
                admin.createTopics(List.of(new NewTopic(bareTopic, config.kafkaTopicPartitions(), (short) 1))).all().get();

                // The backlog: rows written while no relay ran (keys spread like transaction ids).
                database.dsl().execute("""
                        insert into outbox (topic, message_key, event_id, event_type, payload)
                        select ?, 'tx-' || (g % 5000), 'drain/' || g, 'mercuryo.transaction.status_changed',
                               convert_to(repeat('x', ?), 'UTF8')
                        from generate_series(1, ?) g""", config.topics().transactions(), opts.get("bytes"), rows);
                List<Record3<String, String, byte[]>> messages = database.dsl()
                        .select(OUTBOX.TOPIC, OUTBOX.MESSAGE_KEY, OUTBOX.PAYLOAD).from(OUTBOX).orderBy(OUTBOX.ID).fetch();

                // The bare producer: the same messages, the same producer settings, no database.
                long bareStart = System.nanoTime();
                try (Producer<String, byte[]> producer = clients.producer()) {
                    List<Future<RecordMetadata>> acks = new ArrayList<>(rows);
                    for (var m : messages) {
                        acks.add(producer.send(new ProducerRecord<>(bareTopic, m.value2(), m.value3())));
                    }
                    for (Future<RecordMetadata> ack : acks) {
                        ack.get();
                    }
                }
                double bareSeconds = (System.nanoTime() - bareStart) / 1e9;

                SimpleMeterRegistry registry = new SimpleMeterRegistry();
                long relayStart = System.nanoTime();
                OutboxRelay relay = new OutboxRelay(config, database.dsl(), clients, registry);
                relay.start();
                try {
                    long deadline = System.nanoTime() + 600_000_000_000L;
                    // The relay's own count of acknowledged and marked messages: no query that
                    // would compete with it for the database.
                    while (registry.get("outbox.published").counter().count() < rows) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException("the relay did not drain the outbox within 10 minutes");
                        }
                        Thread.sleep(5);
                    }
                } finally {
                    relay.close();
                }
                double relaySeconds = (System.nanoTime() - relayStart) / 1e9;
                int left = database.dsl().fetchCount(OUTBOX, OUTBOX.PUBLISHED_AT.isNull());
                if (left != 0) {
                    throw new IllegalStateException(left + " rows are still unpublished after the relay counted them all");
                }

                double relayRate = rows / relaySeconds;
                double bareRate = rows / bareSeconds;
                System.out.println();
                System.out.printf("%-38s %10s %12s%n", "", "seconds", "messages/s");
                System.out.printf("%-38s %10.2f %,12.0f%n", "bare producer (no database)", bareSeconds, bareRate);
                System.out.printf("%-38s %10.2f %,12.0f%n", "outbox relay drain", relaySeconds, relayRate);
                System.out.printf("%nratio relay / bare producer: %.2f%n", relayRate / bareRate);
                System.out.printf("targets: >= 10,000 messages/s: %s; >= 0.5 of the bare producer: %s%n",
                        relayRate >= 10_000 ? "met" : "NOT met", relayRate >= 0.5 * bareRate ? "met" : "NOT met");
            }
        }
        System.exit(0);
    }
}
