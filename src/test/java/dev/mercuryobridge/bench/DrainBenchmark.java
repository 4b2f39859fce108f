package dev.mercuryobridge.bench;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.outbox.KafkaClients;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.outbox.Outbox;
import dev.mercuryobridge.outbox.OutboxMessage;
import dev.mercuryobridge.outbox.OutboxRelay;
import dev.mercuryobridge.testing.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.jooq.Record3;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Future;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;

/**
 * {@code make bench-drain}: how fast the relay drains a backlog (as after a Kafka outage), on a
 * durable PostgreSQL (fsync and synchronous_commit on), beside a bare producer sending the same
 * messages (same bytes, key and header, same producer settings) to the same broker in the same
 * run: the ceiling, with no database at all.
 *
 * <p>The backlog is real transition messages, serialized by {@link Messages} as the service does:
 * {@code keys} transactions with {@code rows / keys} status changes each, interleaved as callbacks
 * would be. The load average is printed with the figures: the machine may be shared.
 *
 * <p>Arguments: {@code rows=100000 keys=5000}.
 */
public final class DrainBenchmark {

    public static void main(String[] args) throws Exception {
        Map<String, Integer> opts = new HashMap<>(Map.of("rows", 100_000, "keys", 5_000));
        for (String a : args) {
            String[] kv = a.split("=", 2);
            opts.put(kv[0], Integer.parseInt(kv[1]));
        }
        int rows = opts.get("rows");
        int keys = opts.get("keys");
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

                // The backlog: written while no relay ran.
                Messages messages = new Messages(config.topics());
                List<OutboxMessage> batch = new ArrayList<>(1_000);
                for (int i = 0; i < rows; i++) {
                    batch.add(transition(messages, i % keys, i / keys + 1));
                    if (batch.size() == 1_000 || i == rows - 1) {
                        List<OutboxMessage> chunk = List.copyOf(batch);
                        database.dsl().transaction(c -> Outbox.appendAll(c.dsl(), chunk));
                        batch.clear();
                    }
                }
                List<Record3<String, String, byte[]>> stored = database.dsl()
                        .select(OUTBOX.TOPIC, OUTBOX.MESSAGE_KEY, OUTBOX.PAYLOAD).from(OUTBOX).orderBy(OUTBOX.ID).fetch();
                double avgBytes = stored.stream().mapToInt(r -> r.value3().length).average().orElse(0);
                System.out.printf("mercuryo-bridge relay drain benchmark: %,d outbox rows (%d transactions, %.0f bytes"
                        + " on average), durable PostgreSQL (fsync=on, synchronous_commit=on), %d cores%n",
                        rows, keys, avgBytes, Runtime.getRuntime().availableProcessors());

                // The bare producer: the same messages, the same producer settings, no database.
                String loadBefore = loadAverage();
                var header = List.of(new RecordHeader("content-type", Messages.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8)));
                long bareStart = System.nanoTime();
                try (Producer<String, byte[]> producer = clients.producer()) {
                    List<Future<RecordMetadata>> acks = new ArrayList<>(rows);
                    for (var m : stored) {
                        acks.add(producer.send(new ProducerRecord<>(bareTopic, null, m.value2(), m.value3(),
                                new ArrayList<>(header))));
                    }
                    for (Future<RecordMetadata> ack : acks) {
                        ack.get();
                    }
                }
                double bareSeconds = (System.nanoTime() - bareStart) / 1e9;
                String loadAfterBare = loadAverage();

                SimpleMeterRegistry registry = new SimpleMeterRegistry();
                long relayStart = System.nanoTime();
                OutboxRelay relay = new OutboxRelay(config, database.dsl(), clients, registry);
                relay.start();
                try {
                    long deadline = System.nanoTime() + 600_000_000_000L;
                    // The relay's own count of marked messages: no query that would compete with it.
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
                String loadAfterRelay = loadAverage();
                int left = database.dsl().fetchCount(OUTBOX, OUTBOX.PUBLISHED_AT.isNull());
                if (left != 0) {
                    throw new IllegalStateException(left + " rows are still unpublished after the relay counted them all");
                }

                double relayRate = rows / relaySeconds;
                double bareRate = rows / bareSeconds;
                System.out.println();
                System.out.printf("%-38s %10s %12s   %s%n", "", "seconds", "messages/s", "load average (1, 5, 15 min) after");
                System.out.printf("%-38s %10.2f %,12.0f   %s%n", "bare producer (no database)", bareSeconds, bareRate, loadAfterBare);
                System.out.printf("%-38s %10.2f %,12.0f   %s%n", "outbox relay drain", relaySeconds, relayRate, loadAfterRelay);
                System.out.printf("%nload average before: %s%n", loadBefore);
                System.out.printf("ratio relay / bare producer: %.2f%n", relayRate / bareRate);
                System.out.printf("targets: >= 10,000 messages/s: %s; >= 0.5 of the bare producer: %s%n",
                        relayRate >= 10_000 ? "met" : "NOT met", relayRate >= 0.5 * bareRate ? "met" : "NOT met");
            }
        }
        System.exit(0);
    }

    /** The {@code n}-th status change of transaction {@code tx}, as the service would store it. */
    private static OutboxMessage transition(Messages messages, int tx, int n) {
        String id = "drain" + Integer.toHexString(0x100000 + tx) + UUID.nameUUIDFromBytes(("tx" + tx).getBytes()).toString()
                .substring(0, 8);
        Instant at = Instant.parse("2026-03-01T10:00:00Z").plusSeconds(tx * 7L + n);
        return messages.transition(new Messages.Transition(id, "merchant-" + tx, "buy", "card",
                n == 1 ? null : "status" + (n - 1), "status" + n, false,
                new BigDecimal("0.00148310").add(BigDecimal.valueOf(tx, 8)), "BTC", new BigDecimal("50.00"), "USD",
                new BigDecimal("1.25"), new BigDecimal("0.50"), new BigDecimal("33712.45"),
                UUID.nameUUIDFromBytes(("user" + tx % 997).getBytes()).toString(), at, at.plusMillis(250), "callback", n));
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + ", " + f[1] + ", " + f[2];
        } catch (java.io.IOException e) {
            return "n/a";
        }
    }
}
