package dev.mercuryobridge.bench;

import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.testing.DurablePostgres;
import dev.mercuryobridge.testing.ServiceProcess;
import dev.mercuryobridge.testing.TestKafka;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/**
 * {@code make bench-ingest}: callbacks per second the production jar stores, against a durable
 * PostgreSQL (fsync and synchronous_commit on) and a real broker, driven over its public port by
 * 64 keep-alive connections of this JVM (the service runs in its own process).
 *
 * <p>All figures come from one run, so noise on a shared machine hits all of them: the 401 path
 * (read, HMAC, answer) is the ceiling the stored paths are compared with. CPU per callback is
 * the service process's utime+stime from {@code /proc/<pid>/stat} over the phase.
 *
 * <p>Beside the service's CPU it prints PostgreSQL's (all its processes, from {@code /proc}) and
 * this JVM's per callback (the load generator and the in-process Kafka broker the relay sends to), the WAL bytes per callback and the callbacks per commit,
 * and the load average at the start and end. {@code probe=1} adds where PostgreSQL's sessions
 * waited, its statements and its WAL by kind ({@link PostgresProbe}); {@code jfr=1} records a
 * JFR file of the service per stored phase (target/bench-ingest-distinct.jfr, -one.jfr).
 * The service gets this process's environment, so {@code INGEST_WRITERS=4 make bench-ingest}
 * tries another setting.
 *
 * <p>Arguments: {@code connections=64 seconds=10 warmup=30 max=200000 port=18580 probe=0 jfr=0}.
 */
public final class IngestBenchmark {
    private static final String SIGN_KEY = "bench-sign-key-0123456789abcdef";
    private static final String ADMIN_TOKEN = "bench-admin-token-0123456789";
    private static final long TICKS_PER_SECOND = 100; // USER_HZ on Linux

    public static void main(String[] args) throws Exception {
        Map<String, Integer> opts = BenchArgs.parse("IngestBenchmark", args, Map.of("connections", 64, "seconds", 10, "warmup", 30,
                "max", 200_000, "port", 18580, "probe", 0, "jfr", 0));
        int connections = opts.get("connections");
        int port = opts.get("port");
        // -Dbench.jar=... measures another build (e.g. the previous commit's) against the same load.
        Path jar = ServiceProcess.jar("make bench-ingest");
        Path pgDir = Files.createTempDirectory("bench-ingest-pg");
        Path log = Path.of("target", "bench-ingest-service.log").toAbsolutePath();
        Files.deleteIfExists(log);
        System.out.printf("mercuryo-bridge ingest benchmark: production jar, durable PostgreSQL (fsync=on,"
                + " synchronous_commit=on), %d keep-alive connections, %d s per phase after %d s warm-up, %d cores%n",
                connections, opts.get("seconds"), opts.get("warmup"), Runtime.getRuntime().availableProcessors());
        String loadAtStart = loadAverage();
        try (DurablePostgres pg = DurablePostgres.start(pgDir, 0, 100);
             TestKafka kafka = TestKafka.start()) {
            PostgresProbe probe = PostgresProbe.start(pg, pgDir, opts.get("probe") == 1);
            ServiceProcess service = ServiceProcess.start(jar, ServiceProcess.environment(port, port + 1, ADMIN_TOKEN,
                    SIGN_KEY, pg.jdbcUrl(), kafka.bootstrapServers()), log);
            try {
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5)).build();
                service.awaitLive(Duration.ofSeconds(90));
                URI uri = URI.create("http://127.0.0.1:" + port + "/callbacks/mercuryo");
                String run = UUID.randomUUID().toString().substring(0, 8);
                Duration phase = Duration.ofSeconds(opts.get("seconds"));
                int max = opts.get("max");

                // Warm-up: both paths, so the JIT has compiled what the measured phases run (with 8 s, the C2
                // compiler threads still used more CPU than the writers during the stored phases).
                // Two thirds on the stored path: it runs far fewer requests per second than the 401 path, and with
                // half of 30 s, JFR still showed the C2 compiler threads at 10-14 % of the CPU in the stored phases.
                Duration warm = Duration.ofSeconds(opts.get("warmup"));
                drive(client, uri, connections, warm.dividedBy(3), max, service,
                        i -> badlySigned(callback("w1" + run + "-" + i, "user-" + i)));
                drive(client, uri, connections, warm.minus(warm.dividedBy(3)), max, service,
                        i -> signed(callback("w2" + run + "-" + i, UUID.randomUUID().toString())));

                boolean jfr = opts.get("jfr") == 1;
                probe.begin();
                Result ceiling = drive(client, uri, connections, phase, max, service,
                        i -> badlySigned(callback("b" + run + "-" + i, "user-" + i)));
                ceiling.pg = probe.end();
                jfr(service, jfr, "start", "distinct");
                probe.begin();
                Result distinct = drive(client, uri, connections, phase, max, service,
                        i -> signed(callback("d" + run + "-" + i, new UUID(0x5eed, i).toString())));
                distinct.pg = probe.end();
                jfr(service, jfr, "stop", "distinct");
                String oneUser = UUID.randomUUID().toString();
                jfr(service, jfr, "start", "one");
                probe.begin();
                Result one = drive(client, uri, connections, phase, max, service,
                        i -> signed(callback("o" + run + "-" + i, oneUser)));
                one.pg = probe.end();
                jfr(service, jfr, "stop", "one");

                check(ceiling, 401);
                check(distinct, 200);
                check(one, 200);
                System.out.printf("%nservice: %s%n", jar);
                long storedRows = count(pg, "select count(*) from callback where transaction_id like 'd" + run
                        + "-%' or transaction_id like 'o" + run + "-%'");
                if (storedRows != distinct.ok + one.ok) {
                    throw new IllegalStateException("answered 200 for " + (distinct.ok + one.ok)
                            + " callbacks but " + storedRows + " are stored");
                }

                // Nothing lost downstream either: every callback answered 200 reaches Kafka.
                java.util.Set<String> expected = new java.util.HashSet<>();
                distinct.okIndexes.forEach(i -> expected.add("d" + run + "-" + i));
                one.okIndexes.forEach(i -> expected.add("o" + run + "-" + i));
                long kafkaStart = System.nanoTime();
                java.util.Set<String> published = new java.util.HashSet<>();
                try (var consumer = kafka.consumer("mercuryo.transactions.v1")) {
                    long until = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                    while (published.size() < expected.size() && System.nanoTime() < until) {
                        for (var rec : consumer.poll(Duration.ofMillis(200))) {
                            if (expected.contains(rec.key())) {
                                published.add(rec.key());
                            }
                        }
                    }
                }
                if (published.size() != expected.size()) {
                    throw new IllegalStateException("answered 200 for " + expected.size() + " transactions but only "
                            + published.size() + " reached Kafka within 120 s");
                }
                double kafkaSeconds = (System.nanoTime() - kafkaStart) / 1e9;

                System.out.println();
                System.out.printf("%-34s %12s %8s %8s %16s %9s %7s%n", "path", "callbacks/s", "p50 ms", "p99 ms",
                        "CPU ms/callback", "/ceiling", "503s");
                print("bad signature (401) ceiling", ceiling, ceiling);
                print("stored, distinct users", distinct, ceiling);
                print("stored, all from one user", one, ceiling);
                System.out.println();
                System.out.printf("%-34s %16s %16s %14s %14s %12s%n", "path", "PG CPU ms/cb", "bench JVM ms/cb",
                        "WAL bytes/cb", "callbacks/commit", "WAL syncs/s");
                printPostgres("bad signature (401) ceiling", ceiling);
                printPostgres("stored, distinct users", distinct);
                printPostgres("stored, all from one user", one);
                System.out.println("(bench JVM: the load generator and the in-process Kafka broker; PG: every PostgreSQL process)");
                System.out.printf("load average at start: %s; at the end: %s%n", loadAtStart, loadAverage());
                System.out.println();
                System.out.printf("targets: distinct users >= 0.5 of ceiling with p99 <= 200 ms: %s;"
                                + " one user >= 0.3 of ceiling: %s%n",
                        distinct.rate() >= 0.5 * ceiling.rate() && distinct.p(99) <= 200 && distinct.ok == distinct.latencies.length
                                ? "met" : "NOT met",
                        one.rate() >= 0.3 * ceiling.rate() && one.ok == one.latencies.length ? "met" : "NOT met");
                System.out.println("(p50/p99 are over every answer, 503s included; a phase with 503s does not meet a target)");
                System.out.printf("every 200 is stored: %d of %d; and on Kafka: %d of %d (read back in %.1f s);"
                        + " service log: %s%n", storedRows, distinct.ok + one.ok, published.size(), expected.size(),
                        kafkaSeconds, log);
            } finally {
                service.close();
            }
        }
        System.exit(0);
    }

    private record Body(byte[] bytes, String signature) {}

    private static String callback(String id, String userUuid) {
        return """
                {"data":{"id":"%s","type":"buy","status":"paid","amount":"0.00148310","currency":"BTC",\
                "fiat_amount":"50.00","fiat_currency":"USD","fee":"11.80","partner_fee":"0.00","rate":"25756.99",\
                "payment_method":"card","merchant_transaction_id":"m-%s","created_at_ts":1694071953,\
                "updated_at_ts":1694071966,"user":{"uuid4":"%s","email":"bench@example.com"}}}"""
                .formatted(id, id, userUuid);
    }

    private static Body signed(String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return new Body(bytes, SignatureVerifier.sign(SIGN_KEY, bytes));
    }

    private static Body badlySigned(String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return new Body(bytes, SignatureVerifier.sign("not-the-key-0123456789abcdef", bytes));
    }

    /** One phase's answers: latencies of every request, by status. */
    private static final class Result {
        final String name;
        long[] latencies;
        int ok;
        /** The request indexes answered 200 (their transaction ids are the phase prefix plus the index). */
        final List<Integer> okIndexes = new ArrayList<>();
        int expected;
        final Map<Integer, Integer> statuses = new HashMap<>();
        double seconds;
        double cpuMs;
        PostgresProbe.Phase pg;

        Result(String name) {
            this.name = name;
        }

        /** Answers with the expected status per second (503s are not counted). */
        double rate() {
            return expected / seconds;
        }

        double p(int percentile) {
            if (latencies.length == 0) {
                return Double.NaN;
            }
            int i = (int) Math.min(latencies.length - 1L, Math.round(Math.ceil(percentile / 100.0 * latencies.length)) - 1);
            return latencies[Math.max(0, i)] / 1e6;
        }
    }

    /**
     * Sends from {@code connections} threads, one keep-alive connection each, until the phase's
     * time or {@code max} requests are used up.
     */
    private static Result drive(HttpClient client, URI uri, int connections, Duration time, int max, ServiceProcess service,
                                IntFunction<Body> bodies) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long[] latencies = new long[max];
        int[] statuses = new int[max];
        long deadline = System.nanoTime() + time.toNanos();
        CountDownLatch done = new CountDownLatch(connections);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long cpuBefore = service.cpuTicks();
        long start = System.nanoTime();
        for (int t = 0; t < connections; t++) {
            Thread.ofPlatform().start(() -> {
                try {
                    int i;
                    while (System.nanoTime() < deadline && (i = next.getAndIncrement()) < max) {
                        Body b = bodies.apply(i);
                        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                                .header("Content-Type", "application/json").header("X-Signature", b.signature())
                                .POST(HttpRequest.BodyPublishers.ofByteArray(b.bytes())).build();
                        long sent = System.nanoTime();
                        HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
                        latencies[i] = System.nanoTime() - sent;
                        statuses[i] = response.statusCode();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        long elapsed = System.nanoTime() - start;
        long cpuAfter = service.cpuTicks();
        if (failure.get() != null) {
            throw new IllegalStateException("a request failed", failure.get());
        }
        int n = Math.min(next.get(), max);
        // Threads that saw the deadline after taking an index left it unsent.
        Result r = new Result(uri.toString());
        long[] sent = new long[n];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (statuses[i] != 0) {
                sent[m++] = latencies[i];
                r.statuses.merge(statuses[i], 1, Integer::sum);
                if (statuses[i] == 200) {
                    r.ok++;
                    r.okIndexes.add(i);
                }
            }
        }
        r.latencies = Arrays.copyOf(sent, m);
        Arrays.sort(r.latencies);
        r.seconds = elapsed / 1e9;
        r.cpuMs = (cpuAfter - cpuBefore) * 1000.0 / TICKS_PER_SECOND;
        return r;
    }

    /** Only the expected answer, or 503 (the service refused: counted, and not in the rate). */
    private static void check(Result r, int expected) {
        if (r.statuses.keySet().stream().anyMatch(s -> s != expected && s != 503)) {
            throw new IllegalStateException("expected only " + expected + " (or 503) answers, got " + r.statuses);
        }
        r.expected = r.statuses.getOrDefault(expected, 0);
    }

    private static void print(String name, Result r, Result ceiling) {
        System.out.printf("%-34s %12.0f %8.1f %8.1f %16.3f %9.2f %7d%n", name, r.rate(), r.p(50), r.p(99),
                r.cpuMs / Math.max(1, r.expected), r.rate() / ceiling.rate(), r.statuses.getOrDefault(503, 0));
    }

    private static void printPostgres(String name, Result r) {
        double n = Math.max(1, r.expected);
        System.out.printf("%-34s %16.3f %16.3f %14.0f %14.1f %12.0f%n", name, r.pg.pgCpuMs() / n, r.pg.selfCpuMs() / n,
                r.pg.walBytes() / n, r.pg.commits() == 0 ? 0.0 : n / r.pg.commits(), r.pg.walSyncs() / r.seconds);
        if (!r.pg.detail().isEmpty()) {
            System.out.print(r.pg.detail());
        }
    }

    /** JFR.start or JFR.stop of a recording named after the phase in the service (jfr=1), through jcmd. */
    private static void jfr(ServiceProcess service, boolean on, String what, String phase) throws Exception {
        if (!on) {
            return;
        }
        Path file = Path.of("target", "bench-ingest-" + phase + ".jfr").toAbsolutePath();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                String.valueOf(service.pid()), "JFR." + what, "name=" + phase));
        if (what.equals("start")) {
            // CPU-time sampling (JDK 25+) beside the profile's wall-clock samples: it also sees the
            // threads' time in native code and the kernel (socket writes, locks), so its shares are
            // shares of the service's CPU (jfr print --events jdk.CPUTimeSample).
            command.addAll(List.of("settings=profile", "filename=" + file));
            if (Runtime.version().feature() >= 25) {
                command.addAll(List.of("jdk.CPUTimeSample#enabled=true", "jdk.CPUTimeSample#throttle=2ms"));
            }
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("jcmd " + String.join(" ", command) + " failed");
        }
    }

    private static String loadAverage() throws Exception {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return f[0] + ", " + f[1] + ", " + f[2];
    }

    private static long count(DurablePostgres pg, String sql) throws Exception {
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
