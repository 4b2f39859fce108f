package dev.mercuryobridge.chaos;

import dev.mercuryobridge.outbox.RelayLock;
import dev.mercuryobridge.testing.DurablePostgres;
import dev.mercuryobridge.testing.KafkaProcess;
import dev.mercuryobridge.testing.ServiceProcess;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * {@code make chaos}: faults injected one at a time into the production jar under steady
 * signed-callback load, each followed by the checks of {@link ChaosChecks}.
 *
 * <p>Everything runs in processes of its own, so that it can be killed: the service ({@code java
 * -jar target/mercuryo-bridge.jar serve}, one or two instances), PostgreSQL (durable, started and
 * crashed with {@code pg_ctl}) and the Kafka broker (a child JVM); this JVM only sends load,
 * injects faults and reads the database and every record of the topics. Loopback only.
 *
 * <ol>
 *   <li>kill -9 the service, start it again;</li>
 *   <li>crash PostgreSQL ({@code pg_ctl stop -m immediate}), start it again after {@code pgDown} s;</li>
 *   <li>stop the Kafka broker for {@code kafkaDown} s (60);</li>
 *   <li>with two instances, build a backlog (broker stopped for {@code backlog} s under a burst)
 *       and, while it drains, terminate the relay's database session (the holder of its
 *       advisory lock, in {@code pg_locks});</li>
 *   <li>the same backlog, then kill -9 the instance whose relay is publishing.</li>
 * </ol>
 *
 * <p>Arguments ({@code CHAOS_ARGS="kafkaDown=20 faults=1,3"}): {@code rate=40} callbacks/s,
 * {@code workers=32}, {@code warmup=8} and {@code after=5} s of load around each fault,
 * {@code pgDown=5}, {@code kafkaDown=60}, {@code backlog=20} s at {@code burst=400}/s,
 * {@code faults=1,2,3,4,5}, {@code maxRequests=100000}. Exits 1 if any check fails.
 */
public final class ChaosSuite {
    static final int PG_PORT = 15632;
    static final int KAFKA_PORT = 19692;
    static final String SIGN_KEY = "chaos-sign-key-0123456789abcdef";
    static final String ADMIN_TOKEN = "chaos-admin-token-0123456789";
    static final String TRANSACTIONS = "mercuryo.transactions.v1";
    static final String SPEND_CARD = "mercuryo.spend-card.v1";
    private static final Duration RECOVERY_TIMEOUT = Duration.ofSeconds(180);
    /** Recovered: answering 200 again, and nothing answered 200 longer ago than this is missing on Kafka. */
    private static final Duration LAG_WHEN_RECOVERED = Duration.ofSeconds(1);

    private final Map<String, Double> opts;
    private final Path dir;
    private final String run = UUID.randomUUID().toString().substring(0, 6);
    private final long started = System.nanoTime();
    private final Deque<LoadGenerator.Sent> unseen = new ArrayDeque<>();
    private final List<PhaseRun> runs = new ArrayList<>();
    private DurablePostgres pg;
    private ChaosDatabase db;
    private KafkaProcess kafka;
    private TopicRecorder recorder;
    private LoadGenerator load;
    private final Map<String, Instance> instances = new LinkedHashMap<>();

    /** One instance of the service: fixed ports, its own log, its name in pg_stat_activity. */
    private final class Instance {
        final String name;
        final int httpPort;
        ServiceProcess process;

        Instance(String name, int httpPort) {
            this.name = name;
            this.httpPort = httpPort;
        }

        void start() throws Exception {
            String url = pg.jdbcUrl() + (pg.jdbcUrl().contains("?") ? "&" : "?") + "ApplicationName=" + applicationName();
            process = ServiceProcess.start(ServiceProcess.jar("make chaos"), ServiceProcess.environment(httpPort, httpPort + 1,
                    ADMIN_TOKEN, SIGN_KEY, url, kafka.bootstrapServers()), dir.resolve("service-" + name + ".log"));
            process.awaitLive(Duration.ofSeconds(120));
            say("instance %s up (pid %d, ports %d/%d)", name, process.pid(), httpPort, httpPort + 1);
        }

        String applicationName() {
            return "mercuryo-bridge-" + name;
        }

        URI base() {
            return URI.create("http://127.0.0.1:" + httpPort);
        }
    }

    /** A fault's load, its measured recovery and what was noted while injecting it. */
    private record PhaseRun(int number, String title, LoadGenerator.Phase phase, double recoverySeconds, String note,
                            List<String> faultProblems) {}

    /**
     * What a fault did: when it ended (the recovery clock starts there), a note for the table, and
     * what to check of the fault itself once its load has drained.
     */
    private record Injected(long endedNanos, String note, AfterDrain after) {
        Injected(long endedNanos, String note) {
            this(endedNanos, note, List::of);
        }
    }

    @FunctionalInterface
    private interface AfterDrain {
        List<String> problems() throws Exception;
    }

    @FunctionalInterface
    private interface Fault {
        Injected inject() throws Exception;
    }

    private ChaosSuite(Map<String, Double> opts, Path dir) {
        this.opts = opts;
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        Map<String, Double> opts = new HashMap<>(Map.of("rate", 40.0, "workers", 32.0, "warmup", 8.0, "after", 5.0,
                "pgDown", 5.0, "kafkaDown", 60.0, "backlog", 20.0, "burst", 400.0, "maxRequests", 100_000.0));
        Set<Integer> faults = new java.util.TreeSet<>(List.of(1, 2, 3, 4, 5));
        for (String a : args) {
            String[] kv = a.split("=", 2);
            if (kv[0].equals("faults")) {
                faults.clear();
                Stream.of(kv[1].split(",")).map(String::trim).map(Integer::parseInt).forEach(faults::add);
            } else if (opts.containsKey(kv[0])) {
                opts.put(kv[0], Double.parseDouble(kv[1]));
            } else {
                throw new IllegalArgumentException("unknown argument " + kv[0] + " (known: faults, " + opts.keySet() + ")");
            }
        }
        Path dir = Path.of("target", "chaos").toAbsolutePath();
        Files.createDirectories(dir);
        try (Stream<Path> old = Files.list(dir)) {
            for (Path p : old.filter(p -> p.toString().endsWith(".log")).toList()) {
                Files.delete(p);
            }
        }
        boolean ok = new ChaosSuite(opts, dir).run(faults);
        System.exit(ok ? 0 : 1);
    }

    private boolean run(Set<Integer> faults) throws Exception {
        System.out.printf("mercuryo-bridge chaos suite: production jar, durable PostgreSQL (own processes), Kafka broker"
                        + " (own JVM); load %.0f callbacks/s; %d cores, load average %s; logs in %s%n",
                opt("rate"), Runtime.getRuntime().availableProcessors(), loadAverage(), dir);
        try {
            pg = DurablePostgres.start(dir.resolve("pgdata"), PG_PORT, 200);
            db = new ChaosDatabase(pg.dataSource());
            say("PostgreSQL up on 127.0.0.1:%d", pg.port());
            kafka = KafkaProcess.start(KAFKA_PORT, dir.resolve("kafka.log"));
            say("Kafka broker up on %s (pid %d)", kafka.bootstrapServers(), kafka.pid());
            Instance a = new Instance("a", 18680);
            instances.put(a.name, a);
            a.start();
            recorder = new TopicRecorder(kafka.bootstrapServers(), List.of(TRANSACTIONS, SPEND_CARD));
            load = new LoadGenerator(SIGN_KEY, List.of(a.base()), opt("rate"), (int) opt("workers"), 0.25, 0.1,
                    (long) opt("maxRequests"));
            for (int f : faults) {
                runFault(f);
            }
            return report();
        } finally {
            if (load != null) {
                load.close();
            }
            for (Instance i : instances.values()) {
                if (i.process != null) {
                    i.process.close();
                }
            }
            if (recorder != null) {
                recorder.close();
            }
            if (kafka != null) {
                kafka.close();
            }
            if (pg != null) {
                pg.close();
            }
        }
    }

    private void runFault(int f) throws Exception {
        switch (f) {
            case 1 -> phase(1, "kill -9 the service, restart it", () -> {
                Instance a = instances.get("a");
                long pid = a.process.pid();
                a.process.kill();
                long killed = System.nanoTime();
                a.start();
                return new Injected(killed, "pid " + pid + " killed, up again in " + seconds(System.nanoTime() - killed) + " s");
            });
            case 2 -> phase(2, "crash PostgreSQL, start it again", () -> {
                pg.crash();
                Thread.sleep(Duration.ofSeconds((long) opt("pgDown")));
                pg.startAgain();
                return new Injected(System.nanoTime(), "down " + (long) opt("pgDown") + " s (pg_ctl stop -m immediate)");
            });
            case 3 -> phase(3, "stop Kafka for " + (long) opt("kafkaDown") + " s", () -> {
                kafka.stopBroker();
                Thread.sleep(Duration.ofSeconds((long) opt("kafkaDown")));
                kafka.startBroker();
                return new Injected(System.nanoTime(), "broker down " + (long) opt("kafkaDown") + " s");
            });
            case 4 -> {
                twoInstances();
                phase(4, "terminate the relay's session mid-drain", () -> {
                    long backlog = backlog();
                    long unpublished = db.unpublished("");
                    ChaosDatabase.Session session = relayHolder();
                    Instance holder = instance(session);
                    PublisherWatch watch = new PublisherWatch(holder.applicationName(),
                            () -> db.relayLockHolder().map(ChaosDatabase.Session::applicationName).orElse(null),
                            () -> publishedBy(holder));
                    db.terminate(session);
                    return new Injected(System.nanoTime(), "session " + session.pid() + " of instance " + holder.name
                            + " terminated, " + backlog + " rows queued, " + unpublished + " unpublished then",
                            () -> onePublisher(watch, holder, unpublished));
                });
            }
            case 5 -> {
                twoInstances();
                phase(5, "two instances, kill -9 the publisher mid-drain", () -> {
                    long backlog = backlog();
                    Instance publisher = instance(relayHolder());
                    publisher.process.kill();
                    long killed = System.nanoTime();
                    // As a load balancer would after its health check: only the survivor gets traffic.
                    load.targets(instances.values().stream().filter(i -> i != publisher).map(Instance::base).toList());
                    return new Injected(killed, "instance " + publisher.name + " killed, " + backlog + " rows queued, "
                            + db.unpublished("") + " unpublished then");
                });
            }
            default -> throw new IllegalArgumentException("no fault " + f + " (1-5)");
        }
    }

    private void phase(int number, String title, Fault fault) throws Exception {
        String prefix = run + "-" + number + "-";
        say("fault %d: %s", number, title);
        LoadGenerator.Phase p = load.start("f" + number, prefix);
        Thread.sleep(Duration.ofSeconds((long) opt("warmup")));
        Injected injected = fault.inject();
        say("  %s", injected.note());
        double recovery = awaitRecovery(injected.endedNanos());
        say("  recovered in %s s", recovery < 0 ? "(not within " + RECOVERY_TIMEOUT.toSeconds() + ")" : fmt(recovery));
        Thread.sleep(Duration.ofSeconds((long) opt("after")));
        load.stop(p, Duration.ofSeconds(60));
        awaitDrained(prefix);
        PhaseRun r = new PhaseRun(number, title, p, recovery, injected.note(), injected.after().problems());
        runs.add(r);
        ChaosChecks.Result result = ChaosChecks.check(p.callbacks(), db.snapshot(prefix), recorder.messages(), TRANSACTIONS,
                k -> k.startsWith(prefix));
        int problems = result.problemCount() + extraProblems(r).size();
        say("  %d callbacks answered 200, %d stored, %d on Kafka, %d duplicate sends on Kafka: %s", result.acked(),
                result.stored(), result.published(), result.duplicateSends(),
                problems == 0 ? "ok" : problems + " problem(s), listed at the end");
    }

    private void twoInstances() throws Exception {
        for (Instance i : instances.values()) {
            if (!i.process.isAlive()) {
                i.start();
            }
        }
        if (!instances.containsKey("b")) {
            Instance b = new Instance("b", 18690);
            instances.put(b.name, b);
            b.start();
        }
        load.targets(instances.values().stream().map(Instance::base).toList());
    }

    /**
     * Builds a backlog: the broker stopped for {@code backlog} s while the load runs at
     * {@code burst}/s, then started again; returns, with the number of rows that queued, as soon
     * as the first of them reaches the topics, that is while the relay is draining.
     */
    private long backlog() throws Exception {
        kafka.stopBroker();
        load.rate(opt("burst"));
        Thread.sleep(Duration.ofSeconds((long) opt("backlog")));
        load.rate(opt("rate"));
        long queued = db.unpublished("");
        int before = recorder.count();
        kafka.startBroker();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (recorder.count() == before && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return queued;
    }

    private ChaosDatabase.Session relayHolder() throws SQLException {
        return db.relayLockHolder().orElseThrow(() -> new IllegalStateException("no session holds the relay's lock"));
    }

    private Instance instance(ChaosDatabase.Session session) {
        return instances.values().stream().filter(i -> i.applicationName().equals(session.applicationName())).findFirst()
                .orElseThrow(() -> new IllegalStateException("the relay lock is held by " + session + ", not an instance"));
    }

    /**
     * A relay whose session was terminated may finish the batch it had in flight (at most one
     * batch of the rows unpublished then; the next relay re-sends them with the same ids), but
     * must not publish more while it does not hold the lock.
     */
    private List<String> onePublisher(PublisherWatch watch, Instance terminated, long unpublishedThen)
            throws InterruptedException, SQLException {
        watch.close();
        List<String> leaders = new ArrayList<>();
        for (Instance i : instances.values()) {
            leaders.add(i.name + "=" + (i.process.isAlive() ? fmt(metric(i, "outbox_relay_leader")) : "down"));
        }
        say("  relay lock now held by %s; outbox_relay_leader gauge: %s", relayHolder().applicationName(), leaders);
        double without = watch.publishedWithoutLock();
        // A few rows may be committed between reading the backlog and terminating the session.
        long inFlight = Math.min(unpublishedThen, RelayLock.BATCH_SIZE) + 10;
        if (without <= inFlight) {
            return List.of();
        }
        return List.of(String.format("instance %s published %.0f messages while it did not hold the relay lock"
                        + " (%d samples), more than the batch it could have had in flight (%d of the %d rows unpublished"
                        + " when its session was terminated): two relays published at once", terminated.name, without,
                watch.samples(), inFlight - 10, unpublishedThen));
    }

    /** The instance's {@code outbox_published_total}: messages its relay had acknowledged and marked. */
    private static double publishedBy(Instance i) throws InterruptedException {
        return metric(i, "outbox_published_total");
    }

    /** A metric of the instance's {@code /metrics} (summed over its labels). */
    private static double metric(Instance i, String name) throws InterruptedException {
        String metrics = i.process.adminGet("/metrics");
        if (metrics == null) {
            throw new IllegalStateException("instance " + i.name + " does not answer /metrics");
        }
        return metrics.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /**
     * Seconds from the end of the fault until callbacks sent after it are answered 200 and
     * nothing answered 200 more than {@link #LAG_WHEN_RECOVERED} ago is missing on Kafka; -1 if
     * that does not happen within {@link #RECOVERY_TIMEOUT}.
     */
    private double awaitRecovery(long fromNanos) throws InterruptedException {
        long deadline = fromNanos + RECOVERY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            recorder.check();
            long now = System.nanoTime();
            unseen.addAll(load.takeAcks());
            unseen.removeIf(s -> recorder.seen(s.callback.messageId()));
            boolean answering = load.latestOkSentNanos() >= fromNanos;
            boolean caughtUp = unseen.stream().allMatch(s -> s.ackNanos > now - LAG_WHEN_RECOVERED.toNanos());
            if (answering && caughtUp) {
                return (now - fromNanos) / 1e9;
            }
            Thread.sleep(50);
        }
        return -1;
    }

    /** After the phase's load: everything it caused is published and read (bounded wait). */
    private void awaitDrained(String prefix) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline && db.unpublished(prefix) > 0) {
            Thread.sleep(200);
        }
        recorder.awaitCaughtUp(Duration.ofSeconds(60));
    }

    /** What the load itself saw go wrong: answers other than 200, 503 or a refused connection; callbacks given up on. */
    private static List<String> extraProblems(PhaseRun r) {
        List<String> problems = new ArrayList<>();
        r.phase().answerCounts().forEach((answer, n) -> {
            if (!Set.of("200", "503", "io").contains(answer)) {
                problems.add(n + " answer(s) " + answer);
            }
        });
        long givenUp = r.phase().callbacks().stream().filter(c -> !c.acked()).count();
        if (givenUp > 0) {
            problems.add(givenUp + " callback(s) never answered 200 within 60 s of retries after the load stopped");
        }
        if (r.recoverySeconds() < 0) {
            problems.add("did not recover within " + RECOVERY_TIMEOUT.toSeconds() + " s");
        }
        problems.addAll(r.faultProblems());
        return problems;
    }

    /** The final verdict: every phase checked again against every record now on the topics. */
    private boolean report() throws Exception {
        recorder.awaitCaughtUp(Duration.ofSeconds(60));
        if (load.failure() != null) {
            throw new IllegalStateException("the load generator failed", load.failure());
        }
        ChaosChecks.Stored stored = db.snapshot(run + "-");
        List<ChaosChecks.Message> messages = recorder.messages();
        dumpRecords(messages, dir.resolve("records.tsv"));
        db.dumpOutbox(run + "-", dir.resolve("outbox.tsv"));
        System.out.printf("%nfinal check, all %d records of both topics read again; load average %s; %s s in all%n%n",
                messages.size(), loadAverage(), fmt((System.nanoTime() - started) / 1e9));
        printHeader();
        boolean ok = true;
        for (PhaseRun r : runs) {
            String prefix = run + "-" + r.number() + "-";
            ChaosChecks.Result result = ChaosChecks.check(r.phase().callbacks(), stored, messages, TRANSACTIONS,
                    k -> k.startsWith(prefix));
            List<String> extra = extraProblems(r);
            printRow(r, result, extra.size());
            for (String p : Stream.concat(extra.stream(), result.problems().stream()).toList()) {
                System.out.println("      ! " + p);
            }
            if (result.problemCount() > result.problems().size()) {
                System.out.printf("      ! … %d more%n", result.problemCount() - result.problems().size());
            }
            ok &= result.ok() && extra.isEmpty();
        }
        for (PhaseRun r : runs) {
            System.out.printf("  %d: %s%n", r.number(), r.note());
        }
        if (!recorder.rewrittenOffsets().isEmpty()) {
            System.out.println("  ! records acknowledged by Kafka were replaced at " + recorder.rewrittenOffsets());
            ok = false;
        }
        System.out.println(ok ? "\nmake chaos: every check passed" : "\nmake chaos: FAILED");
        return ok;
    }

    /** Every record read, as tab-separated lines in the order read: for reading a failure after the run. */
    private static void dumpRecords(List<ChaosChecks.Message> messages, Path file) throws java.io.IOException {
        try (java.io.BufferedWriter out = Files.newBufferedWriter(file)) {
            out.write("topic\tpartition\toffset\ttimestamp\tkey\tid\n");
            for (ChaosChecks.Message m : messages) {
                out.write(m.topic() + "\t" + m.partition() + "\t" + m.offset() + "\t"
                        + java.time.Instant.ofEpochMilli(m.timestamp()) + "\t" + m.key() + "\t" + m.id() + "\n");
            }
        }
    }

    private static void printHeader() {
        System.out.printf("%-48s %6s %6s %7s %5s %6s %6s %9s %6s %8s  %s%n", "fault", "sent", "acked", "refused", "503",
                "dups", "stored", "published", "dup on", "recover", "result");
        System.out.printf("%-48s %6s %6s %7s %5s %6s %6s %9s %6s %8s%n", "", "", "(200)", "", "", "sent", "", "",
                "Kafka", "s", "");
    }

    private void printRow(PhaseRun r, ChaosChecks.Result result, int extra) {
        Map<String, Integer> answers = r.phase().answerCounts();
        int problems = result.problemCount() + extra;
        System.out.printf("%-48s %6d %6d %7d %5d %6d %6d %9d %6d %8s  %s%n", r.number() + " " + r.title(),
                result.sent(), result.acked(), answers.getOrDefault("io", 0), answers.getOrDefault("503", 0),
                r.phase().duplicatesSent.get(), result.stored(), result.published(), result.duplicateSends(),
                r.recoverySeconds() < 0 ? "-" : fmt(r.recoverySeconds()), problems == 0 ? "ok" : "FAILED (" + problems + ")");
    }

    private double opt(String name) {
        return opts.get(name);
    }

    private void say(String format, Object... args) {
        System.out.printf("[%6.1f s] %s%n", (System.nanoTime() - started) / 1e9, String.format(format, args));
    }

    private static String seconds(long nanos) {
        return fmt(nanos / 1e9);
    }

    private static String fmt(double seconds) {
        return String.format("%.1f", seconds);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
