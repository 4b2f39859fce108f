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
import static dev.mercuryobridge.db.generated.Tables.OUTBOX_PENDING;

/**
 * {@code make bench-drain}: how fast the relay drains a backlog (as after a Kafka outage), on a
 * durable PostgreSQL (fsync and synchronous_commit on), beside a bare producer sending the same
 * messages (same bytes, key and header, same producer settings) to the same broker in the same
 * run: the ceiling, with no database at all.
 *
 * <p>The backlog is real transition messages, serialized by {@link Messages} as the service does:
 * {@code keys} transactions with {@code rows / keys} status changes each, interleaved as callbacks
 * would be.
 *
 * <p>Each of {@code rounds} rounds writes the backlog again and runs the bare producer, then the
 * relay. The first round starts cold; the medians are those of the others, printed with the load
 * average (the machine may be shared).
 *
 * <p>Arguments: {@code rows=100000 keys=5000 rounds=4}.
 */
public final class DrainBenchmark {
    /** {@code stats=1}: pg_stat_statements' top statements of each relay phase, printed with its CPU. */
    private static boolean statements;
    /** Where each round's CPU went, printed under its figures. */
    private static final List<String> cpuLines = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        Map<String, Integer> opts = BenchArgs.parse("DrainBenchmark", args, Map.of("rows", 100_000, "keys", 5_000, "rounds", 4, "stats", 0));
        int rows = opts.get("rows");
        int keys = opts.get("keys");
        int rounds = opts.get("rounds");
        statements = opts.get("stats") == 1;
        Path pgDir = Files.createTempDirectory("bench-drain-pg");
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setDataDirectory(pgDir).setCleanDataDirectory(true)
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("shared_preload_libraries", statements ? "pg_stat_statements" : "")
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
                if (statements) {
                    database.dsl().execute("create extension if not exists pg_stat_statements");
                }
                KafkaClients.ensureTopics(admin, config);
                String bareTopic = "drain.bare";
                admin.createTopics(List.of(new NewTopic(bareTopic, config.kafkaTopicPartitions(), (short) 1))).all().get();

                Messages messages = new Messages(config.topics());
                List<OutboxMessage> backlog = new ArrayList<>(rows);
                for (int i = 0; i < rows; i++) {
                    backlog.add(transition(messages, i % keys, i / keys + 1));
                }
                double avgBytes = backlog.stream().mapToInt(m -> m.payload().length).average().orElse(0);
                System.out.printf("mercuryo-bridge relay drain benchmark: %,d outbox rows (%d transactions, %.0f bytes"
                        + " on average), durable PostgreSQL (fsync=on, synchronous_commit=on), %d cores, %d rounds%n",
                        rows, keys, avgBytes, Runtime.getRuntime().availableProcessors(), rounds);
                System.out.printf("%n%-6s %14s %14s %7s   %s%n", "round", "bare msg/s", "relay msg/s", "ratio",
                        "load average (1, 5, 15 min) at the end");
                List<double[]> results = new ArrayList<>();
                for (int round = 1; round <= rounds; round++) {
                    double[] r = round(config, database, clients, backlog, bareTopic, pgDir);
                    results.add(r);
                    System.out.printf("%-6s %,14.0f %,14.0f %7.2f   %s%n", round == 1 ? "1 cold" : Integer.toString(round),
                            r[0], r[1], r[1] / r[0], loadAverage());
                    System.out.print(cpuLines.removeFirst());
                }
                // The first round starts cold (JIT, broker): its bare producer is far below what it does
                // warm, so the medians leave it out when there are more rounds.
                List<double[]> warm = results.size() > 1 ? results.subList(1, results.size()) : results;
                double bare = median(warm.stream().mapToDouble(r -> r[0]).toArray());
                double relay = median(warm.stream().mapToDouble(r -> r[1]).toArray());
                double ratio = median(warm.stream().mapToDouble(r -> r[1] / r[0]).toArray());
                System.out.printf("%-6s %,14.0f %,14.0f %7.2f   (rounds %s)%n", "median", bare, relay, ratio,
                        results.size() > 1 ? "2-" + results.size() : "1");
                System.out.printf("%ntargets: >= 10,000 messages/s: %s; >= 0.5 of the bare producer: %s%n",
                        relay >= 10_000 ? "met" : "NOT met", ratio >= 0.5 ? "met" : "NOT met");
            }
        }
        System.exit(0);
    }

    /**
     * One round: the backlog written while no relay runs, the bare producer sending the same
     * messages, then the relay draining it. Returns the two rates, messages/s.
     */
    private static double[] round(Config config, Database database, KafkaClients clients, List<OutboxMessage> backlog,
                                  String bareTopic, Path pgDir) throws Exception {
        int rows = backlog.size();
        database.dsl().execute("truncate outbox, outbox_pending");
        for (int from = 0; from < rows; from += 1_000) {
            List<OutboxMessage> chunk = backlog.subList(from, Math.min(rows, from + 1_000));
            database.dsl().transaction(c -> Outbox.appendAll(c.dsl(), chunk));
        }
        List<Record3<String, String, byte[]>> stored = database.dsl()
                .select(OUTBOX.TOPIC, OUTBOX.MESSAGE_KEY, OUTBOX.PAYLOAD).from(OUTBOX).orderBy(OUTBOX.ID).fetch();

        // The bare producer: the same messages, the same producer settings, no database.
        var header = List.of(new RecordHeader("content-type", Messages.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8)));
        String bareUse;
        CpuUse bareCpu = CpuUse.start(pgDir);
        long bareStart = System.nanoTime();
        try (Producer<String, byte[]> producer = clients.producer()) {
            List<Future<RecordMetadata>> acks = new ArrayList<>(rows);
            for (var m : stored) {
                acks.add(producer.send(new ProducerRecord<>(bareTopic, null, m.value2(), m.value3(), new ArrayList<>(header))));
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get();
            }
            bareUse = bareCpu.end(rows);   // before the producer's thread ends
        }
        double bareSeconds = (System.nanoTime() - bareStart) / 1e9;

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        double[] relaySeconds = new double[1];
        String[] relayUse = new String[1];
        if (statements) {
            database.dsl().execute("select pg_stat_statements_reset()");
        }
        CpuUse relayCpu = CpuUse.start(pgDir);
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
            relaySeconds[0] = (System.nanoTime() - relayStart) / 1e9;
            relayUse[0] = relayCpu.end(rows);   // before the relay's threads and sessions end
            relay.close();
        }
        int left = database.dsl().fetchCount(OUTBOX_PENDING);
        if (left != 0) {
            throw new IllegalStateException(left + " rows are still unpublished after the relay counted them all");
        }
        StringBuilder lines = new StringBuilder(String.format(
                "         CPU µs a message, bare:  %s%n         CPU µs a message, relay: %s%n", bareUse, relayUse[0]));
        if (statements) {
            for (var r : database.dsl().fetch("select calls, rows, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 60)"
                    + " from pg_stat_statements order by total_exec_time desc limit 5")) {
                lines.append(String.format("           %8.1f µs a message in %,d calls (%,d rows): %s%n",
                        r.get(2, Double.class) * 1000 / rows, r.get(0, Long.class), r.get(1, Long.class), r.get(3, String.class)));
            }
        }
        cpuLines.add(lines.toString());
        return new double[] {rows / bareSeconds, rows / relaySeconds[0]};
    }

    /**
     * CPU used over a phase, per message: every PostgreSQL process (from /proc) and this JVM's
     * threads by name (the broker's, the producers', the relay's), so a ratio can be explained.
     */
    private record CpuUse(Path pgDir, long pgTicks, Map<String, Long> threads) {
        private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

        static CpuUse start(Path pgDir) throws java.io.IOException {
            return new CpuUse(pgDir, PostgresProbe.postgresTicks(pgDir), threadCpu());
        }

        String end(int messages) throws java.io.IOException {
            double pg = (PostgresProbe.postgresTicks(pgDir) - pgTicks) * 10_000.0 / messages;
            Map<String, Long> now = threadCpu();
            Map<String, Double> used = new java.util.TreeMap<>();
            now.forEach((name, nanos) -> used.merge(name, (nanos - threads.getOrDefault(name, 0L)) / 1e3 / messages, Double::sum));
            double jvm = used.values().stream().mapToDouble(Double::doubleValue).sum();
            StringBuilder top = new StringBuilder();
            used.entrySet().stream().filter(e -> e.getValue() >= 0.3)
                    .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(6)
                    .forEach(e -> top.append(String.format(", %s %.1f", e.getKey(), e.getValue())));
            return String.format("PostgreSQL %.1f + JVM %.1f = %.1f (JVM threads: %s)", pg, jvm, pg + jvm,
                    top.length() == 0 ? "-" : top.substring(2));
        }

        /** CPU nanoseconds of the live threads, summed by name with digits dropped (one entry per pool). */
        private static Map<String, Long> threadCpu() {
            Map<String, Long> m = new HashMap<>();
            for (var info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
                if (info != null) {
                    long nanos = THREADS.getThreadCpuTime(info.getThreadId());
                    if (nanos > 0) {
                        m.merge(info.getThreadName().replaceAll("[0-9]+", "#"), nanos, Long::sum);
                    }
                }
            }
            return m;
        }
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The {@code n}-th status change of transaction {@code tx}, as the service would store it. */
    private static OutboxMessage transition(Messages messages, int tx, int n) {
        String id = "drain" + Integer.toHexString(0x100000 + tx) + UUID.nameUUIDFromBytes(("tx" + tx).getBytes()).toString()
                .substring(0, 8);
        Instant at = Instant.parse("2026-03-01T10:00:00Z").plusSeconds(tx * 7L + n);
        return messages.transition(new Messages.Transition(id, "merchant-" + tx, "buy", "card",
                n == 1 ? null : "status" + (n - 1), "status" + n, false,
                new BigDecimal("0.00148310").add(BigDecimal.valueOf(tx, 8)).toPlainString(), "BTC", "50.00", "USD",
                "1.25", "0.50", "33712.45",
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
