package dev.mercuryobridge.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.testing.Callbacks;
import dev.mercuryobridge.testing.TestKafka;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code make image-test}: runs the built container image the way a deployment would, against a
 * real PostgreSQL 17 and a real Kafka broker (both embedded in this JVM, on loopback), and checks
 * from the outside what a platform relies on:
 * <ol>
 *   <li>the container starts and both probes answer ({@code /health/live}, {@code /health/ready}
 *       with database, migrations and Kafka up), and so does the image's {@code ready.sh};</li>
 *   <li>the service process runs as the image's unprivileged user (uid 10001), seen from inside
 *       the container and from the host kernel;</li>
 *   <li>a reconciliation run started on the admin API succeeds (nothing to check yet);</li>
 *   <li>a signed callback on the public port is answered 200 and its transition arrives on Kafka
 *       as a CloudEvent; a wrongly signed one is answered 401;</li>
 *   <li>{@code /metrics} exposes every metric the alert rules and the dashboard in
 *       {@code docker/observability/} use;</li>
 *   <li>SIGTERM ({@code podman stop}) shuts the service down gracefully.</li>
 * </ol>
 * The container is always removed, whatever fails. Not part of {@code make test}: it needs podman.
 */
public final class ImageTestHarness {
    // Fixed loopback ports of their own, away from make run's (8080, 8081, 15432, 19092, 18090).
    static final int HTTP_PORT = 18480;
    static final int ADMIN_PORT = 18481;
    static final int PG_PORT = 18432;
    static final int KAFKA_PORT = 18492;
    static final String LABEL = "dev.mercuryobridge.image-test";
    static final String SIGN_KEY = "image-test-sign-key-0123456789";
    static final String ADMIN_TOKEN = "image-test-admin-token-0123456789";
    static final String TOPIC = "mercuryo.transactions.v1";
    static final String EXPECTED_UID = "10001";

    static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(30);
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(40);

    static final String ALERT_RULES = "docker/observability/prometheus/alerts.yml";
    static final String DASHBOARD = "docker/observability/grafana/dashboards/mercuryo-bridge.json";
    /** Metric names in the observability files' expressions: everything with one of the service's prefixes. */
    static final Pattern METRIC = Pattern.compile(
            "\\b((?:mercuryo|http_server|outbox|reconciliation|callback|jvm|hikaricp)_[a-z0-9_]*[a-z0-9])\\b");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String image;
    private final String container = "mercuryo-bridge-image-test-" + ProcessHandle.current().pid();
    private final List<String> report = new ArrayList<>();
    private int passed;

    private ImageTestHarness(String image) {
        this.image = image;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: ImageTestHarness IMAGE   (make image-test runs it)");
            System.exit(2);
        }
        long start = System.nanoTime();
        ImageTestHarness test = new ImageTestHarness(args[0]);
        boolean ok = test.runAll();
        System.out.println();
        System.out.println("image test of " + args[0] + " (" + seconds(System.nanoTime() - start) + " s):");
        test.report.forEach(line -> System.out.println("  " + line));
        System.out.println("image-test: " + test.passed + " passed, " + (ok ? 0 : 1) + " failed");
        // The embedded broker leaves non-daemon threads behind; the verdict is the exit code.
        System.exit(ok ? 0 : 1);
    }

    private boolean runAll() throws Exception {
        removeLeftovers();
        for (int port : new int[] {HTTP_PORT, ADMIN_PORT, PG_PORT, KAFKA_PORT}) {
            requireFree(port);
        }
        Path pgData = Files.createTempDirectory("image-test-pg");
        EmbeddedPostgres pg = null;
        TestKafka kafka = null;
        Thread cleanup = new Thread(this::removeContainer, "image-test-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            pg = step("PostgreSQL 17 started on 127.0.0.1:" + PG_PORT + " (fsync on)", () -> startPostgres(pgData));
            kafka = step("Kafka broker (KRaft) started on localhost:" + KAFKA_PORT, () -> TestKafka.start(KAFKA_PORT));
            step("container started: podman run " + image + " serve (host network, runc)", this::startContainer);
            step("GET :" + ADMIN_PORT + "/health/live answers 200 {\"status\":\"up\"}", this::awaitLive);
            step("GET :" + ADMIN_PORT + "/health/ready answers 200, database, migrations and kafka up", this::awaitReady);
            step("/app/ready.sh (compose's healthcheck) exits 0", this::readyScript);
            step("service process runs as uid " + EXPECTED_UID + " (podman exec id; host /proc; image USER)", this::checkUser);
            step("reconciliation run on the admin API succeeded", this::reconcile);
            TestKafka broker = kafka;
            try (KafkaConsumer<String, String> consumer = step("topic " + TOPIC + " created by the service; consumer assigned",
                    () -> assignedConsumer(broker))) {
                String txId = "img" + Long.toHexString(System.currentTimeMillis());
                long posted = step("signed callback on :" + HTTP_PORT + " answered 200 accepted; wrongly signed one 401",
                        () -> postCallbacks(txId));
                step("transition on Kafka " + TOPIC + " as a CloudEvent", () -> awaitTransition(consumer, txId, posted));
            }
            step("/metrics exposes every metric of docker/observability (alerts, dashboard)", this::checkMetrics);
            step("SIGTERM (podman stop) shuts the service down gracefully", this::stopGracefully);
            return true;
        } catch (StepFailed e) {
            report.add("FAIL " + e.step + ": " + e.getMessage());
            printContainerLogs();
            return false;
        } finally {
            removeContainer();
            Runtime.getRuntime().removeShutdownHook(cleanup);
            try {
                if (kafka != null) {
                    kafka.close();
                }
            } finally {
                if (pg != null) {
                    pg.close();
                }
                deleteRecursively(pgData);
            }
        }
    }

    // ---- steps -------------------------------------------------------------------------------

    private static EmbeddedPostgres startPostgres(Path dataDir) throws Exception {
        EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(true)
                .setPort(PG_PORT)
                // As in production: durable commits.
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .start();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("create database mercuryo_bridge");
        }
        return pg;
    }

    private String startContainer() {
        Map<String, String> env = new HashMap<>();
        env.put("HTTP_PORT", String.valueOf(HTTP_PORT));
        env.put("ADMIN_PORT", String.valueOf(ADMIN_PORT));
        env.put("ADMIN_TOKEN", ADMIN_TOKEN);
        env.put("MERCURYO_SIGN_KEYS", SIGN_KEY);
        env.put("DATABASE_URL", "jdbc:postgresql://127.0.0.1:" + PG_PORT + "/mercuryo_bridge");
        env.put("DATABASE_USER", "postgres");
        env.put("DATABASE_PASSWORD", "postgres");
        env.put("KAFKA_BOOTSTRAP_SERVERS", "localhost:" + KAFKA_PORT);
        env.put("KAFKA_TOPIC_PARTITIONS", "1");
        env.put("SHUTDOWN_TIMEOUT", "PT10S");
        List<String> args = new ArrayList<>(List.of("run", "--detach", "--name", container, "--label", LABEL + "=1",
                "--runtime", Podman.RUNTIME, "--network", "host", "--memory", "1g"));
        // "-e NAME" passes the value from podman's environment: no secret on a command line.
        env.keySet().stream().sorted().forEach(name -> args.addAll(List.of("--env", name)));
        args.addAll(List.of(image, "serve"));
        Podman.Result r = Podman.run(Duration.ofSeconds(60), env, args.toArray(String[]::new));
        if (!r.ok()) {
            throw new StepFailed("podman run failed, " + r.describe());
        }
        return r.stdout().strip();
    }

    private Void awaitLive() throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            requireRunning();
            try {
                HttpResponse<String> r = get(ADMIN_PORT, "/health/live", Map.of());
                if (r.statusCode() == 200 && "up".equals(JSON.readTree(r.body()).path("status").asText())) {
                    return null;
                }
                last = r.statusCode() + " " + r.body();
            } catch (ConnectException e) {
                last = "connection refused";
            }
            Thread.sleep(250);
        }
        throw new StepFailed("no live answer within " + START_TIMEOUT + " (last: " + last + ")");
    }

    private Void awaitReady() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            requireRunning();
            HttpResponse<String> r = get(ADMIN_PORT, "/health/ready", Map.of());
            JsonNode checks = JSON.readTree(r.body()).path("checks");
            last = r.statusCode() + " " + r.body();
            if (r.statusCode() == 200 && up(checks, "database") && up(checks, "migrations") && up(checks, "kafka")) {
                return null;
            }
            Thread.sleep(250);
        }
        throw new StepFailed("not ready with database, migrations and kafka up within 60 s (last: " + last + ")");
    }

    private Void readyScript() {
        Podman.Result r = Podman.run(Duration.ofSeconds(30), "exec", container, "/app/ready.sh");
        if (!r.ok()) {
            throw new StepFailed("/app/ready.sh " + r.describe());
        }
        return null;
    }

    private static boolean up(JsonNode checks, String name) {
        return "up".equals(checks.path(name).path("status").asText());
    }

    private String checkUser() throws IOException {
        String inside = Podman.check(Duration.ofSeconds(30), "exec", container, "id", "-u");
        if (!EXPECTED_UID.equals(inside)) {
            throw new StepFailed("podman exec id -u says " + inside + ", expected " + EXPECTED_UID);
        }
        String configured = Podman.check(Duration.ofSeconds(30), "image", "inspect", "--format", "{{.Config.User}}", image);
        if (!configured.startsWith(EXPECTED_UID)) {
            throw new StepFailed("the image's USER is '" + configured + "', expected " + EXPECTED_UID);
        }
        // The kernel's view of the container's main process: all of real, effective, saved and
        // file-system uids (rootful podman without a user namespace maps them one to one).
        String pid = Podman.check(Duration.ofSeconds(30), "inspect", "--format", "{{.State.Pid}}", container);
        String cmdline = Files.readString(Path.of("/proc", pid, "cmdline")).replace('\0', ' ');
        if (!cmdline.contains("java") || !cmdline.contains("mercuryo-bridge.jar")) {
            throw new StepFailed("the container's main process is not the service: " + cmdline);
        }
        String uids = Files.readAllLines(Path.of("/proc", pid, "status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow().substring(4).strip();
        for (String uid : uids.split("\\s+")) {
            if (!EXPECTED_UID.equals(uid)) {
                throw new StepFailed("host pid " + pid + " runs with uids " + uids + ", expected all " + EXPECTED_UID);
            }
        }
        return "uid " + inside + ", host pid " + pid + " Uid: " + uids;
    }

    /** Waits for the service to create the topic, then for a consumer to be assigned its partitions. */
    private static KafkaConsumer<String, String> assignedConsumer(TestKafka kafka) throws Exception {
        long deadline = System.nanoTime() + KAFKA_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            while (!admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(TOPIC)) {
                if (System.nanoTime() > deadline) {
                    throw new StepFailed("the service did not create " + TOPIC + " within " + KAFKA_TIMEOUT);
                }
                Thread.sleep(200);
            }
        }
        KafkaConsumer<String, String> consumer = kafka.consumer(TOPIC);
        while (consumer.assignment().isEmpty()) {
            if (System.nanoTime() > deadline) {
                consumer.close();
                throw new StepFailed("the consumer got no partition of " + TOPIC + " within " + KAFKA_TIMEOUT);
            }
            consumer.poll(Duration.ofMillis(200)).forEach(r -> {
                throw new StepFailed("a message on " + TOPIC + " before any callback was sent: " + r.value());
            });
        }
        return consumer;
    }

    /** Posts a signed callback (200) and the same body unsigned (401); returns the 200's send time. */
    private Long postCallbacks(String txId) throws Exception {
        byte[] body = Callbacks.transaction(txId, "buy", "paid", 1_694_071_966L).getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> bad = post(HTTP_PORT, Callbacks.TRANSACTION_PATH, body, Map.of("X-Signature", "0".repeat(64)));
        if (bad.statusCode() != 401) {
            throw new StepFailed("a wrongly signed callback got " + bad.statusCode() + " " + bad.body() + ", expected 401");
        }
        long sent = System.nanoTime();
        HttpResponse<String> ok = post(HTTP_PORT, Callbacks.TRANSACTION_PATH, body,
                Map.of("X-Signature", SignatureVerifier.sign(SIGN_KEY, body), "Content-Type", "application/json"));
        String outcome = ok.headers().firstValue("X-Callback-Outcome").orElse("");
        if (ok.statusCode() != 200 || !"accepted".equals(outcome)) {
            throw new StepFailed("signed callback got " + ok.statusCode() + " (outcome '" + outcome + "') " + ok.body());
        }
        return sent;
    }

    private String awaitTransition(KafkaConsumer<String, String> consumer, String txId, long sent) throws Exception {
        List<ConsumerRecord<String, String>> records = TestKafka.readUntil(consumer,
                rs -> rs.stream().anyMatch(r -> txId.equals(r.key())), KAFKA_TIMEOUT);
        long received = System.nanoTime();
        ConsumerRecord<String, String> record = records.stream().filter(r -> txId.equals(r.key())).findFirst()
                .orElseThrow(() -> new StepFailed("no message with key " + txId + " on " + TOPIC + " within " + KAFKA_TIMEOUT
                        + " (" + records.size() + " other message(s) read)"));
        JsonNode event = JSON.readTree(record.value());
        String contentType = TestKafka.header(record, "content-type");
        List<String> wrong = new ArrayList<>();
        expect(wrong, "header content-type", "application/cloudevents+json", contentType);
        expect(wrong, "id", "transaction/" + txId + "/1", event.path("id").asText());
        expect(wrong, "type", "mercuryo.transaction.status_changed", event.path("type").asText());
        expect(wrong, "data.status", "paid", event.path("data").path("status").asText());
        expect(wrong, "data.sequence", "1", event.path("data").path("sequence").asText());
        expect(wrong, "data.fiat_amount", "50.00", event.path("data").path("fiat_amount").asText());
        if (!wrong.isEmpty()) {
            throw new StepFailed("unexpected message: " + String.join("; ", wrong) + " in " + record.value());
        }
        return "id " + event.path("id").asText() + ", " + millis(received - sent) + " ms from POST to consumer";
    }

    private static void expect(List<String> wrong, String what, String expected, String actual) {
        if (!expected.equals(actual)) {
            wrong.add(what + " is '" + actual + "', expected '" + expected + "'");
        }
    }

    private String reconcile() throws Exception {
        HttpResponse<String> r = post(ADMIN_PORT, "/api/reconciliation/runs?wait=true", new byte[0],
                Map.of("Authorization", "Bearer " + ADMIN_TOKEN));
        JsonNode run = r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        if (run == null || !"succeeded".equals(run.path("status").asText())) {
            throw new StepFailed("POST /api/reconciliation/runs?wait=true answered " + r.statusCode() + " " + r.body());
        }
        return "run " + run.path("id").asText() + " " + run.path("status").asText() + ", "
                + run.path("items_checked").asText() + " item(s) checked";
    }

    private String checkMetrics() throws Exception {
        Set<String> used = new TreeSet<>();
        List<String> exprs = new ArrayList<>(ruleExpressions(Path.of(ALERT_RULES)));
        long alerts = Files.readAllLines(Path.of(ALERT_RULES)).stream().filter(l -> l.strip().startsWith("- alert:")).count();
        if (exprs.size() != alerts) {
            throw new StepFailed("read " + exprs.size() + " expressions but " + alerts + " alerts in " + ALERT_RULES);
        }
        JSON.readTree(Path.of(DASHBOARD).toFile()).findValues("expr").forEach(e -> exprs.add(e.asText()));
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                used.add(m.group(1));
            }
        }
        if (used.isEmpty()) {
            throw new StepFailed("found no metric names in the expressions of " + ALERT_RULES + " and " + DASHBOARD);
        }
        HttpResponse<String> r = get(ADMIN_PORT, "/metrics", Map.of());
        if (r.statusCode() != 200) {
            throw new StepFailed("/metrics answered " + r.statusCode());
        }
        Set<String> exposed = new TreeSet<>();
        for (String line : r.body().split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                exposed.add(line.split("[{ ]", 2)[0]);
            }
        }
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(exposed);
        if (!missing.isEmpty()) {
            throw new StepFailed("not exposed: " + missing);
        }
        for (String series : List.of(
                "mercuryo_callbacks_total{result=\"accepted\",route=\"transaction\"} 1.0",
                "mercuryo_callbacks_total{result=\"bad_signature\",route=\"transaction\"} 1.0",
                "outbox_relay_leader 1.0")) {
            if (!r.body().contains(series)) {
                throw new StepFailed("/metrics has no line '" + series + "'");
            }
        }
        return exprs.size() + " expressions use " + used.size() + " metric names, all exposed";
    }

    /**
     * The {@code expr} of every rule in a Prometheus rules file: one-line values and folded or
     * literal blocks ({@code >-}, {@code |}) alike. Enough YAML for the rules files we write.
     */
    static List<String> ruleExpressions(Path rules) throws IOException {
        List<String> lines = Files.readAllLines(rules);
        List<String> exprs = new ArrayList<>();
        Pattern key = Pattern.compile("^(\\s*)expr:\\s*(.*)$");
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = key.matcher(lines.get(i));
            if (!m.matches()) {
                continue;
            }
            String value = m.group(2).strip();
            if (!value.startsWith(">") && !value.startsWith("|")) {
                exprs.add(value);
                continue;
            }
            int indent = m.group(1).length();
            StringBuilder block = new StringBuilder();
            while (i + 1 < lines.size() && (lines.get(i + 1).isBlank() || leadingSpaces(lines.get(i + 1)) > indent)) {
                block.append(lines.get(++i).strip()).append(' ');
            }
            exprs.add(block.toString().strip());
        }
        return exprs;
    }

    private static int leadingSpaces(String line) {
        int n = 0;
        while (n < line.length() && line.charAt(n) == ' ') {
            n++;
        }
        return n;
    }

    private String stopGracefully() throws Exception {
        long start = System.nanoTime();
        Podman.Result r = Podman.run(STOP_TIMEOUT, "stop", "--time", "30", container);
        if (!r.ok()) {
            throw new StepFailed("podman stop failed, " + r.describe());
        }
        String exit = Podman.check(Duration.ofSeconds(30), "inspect", "--format", "{{.State.ExitCode}}", container);
        Podman.Result logs = Podman.run(Duration.ofSeconds(30), "logs", container);
        // 143 = 128 + SIGTERM: the JVM's exit status after its shutdown hooks ran on SIGTERM.
        if (!Set.of("0", "143").contains(exit)) {
            throw new StepFailed("exit code " + exit + " after SIGTERM");
        }
        if (!(logs.stdout() + logs.stderr()).contains("shut down")) {
            throw new StepFailed("exit " + exit + " but the log has no 'shut down' line");
        }
        return "exit " + exit + " after " + millis(System.nanoTime() - start) + " ms";
    }

    // ---- helpers -----------------------------------------------------------------------------

    @FunctionalInterface
    interface Step<T> {
        T run() throws Exception;
    }

    private <T> T step(String name, Step<T> body) {
        long start = System.nanoTime();
        T result;
        try {
            result = body.run();
        } catch (StepFailed e) {
            e.step = name;
            throw e;
        } catch (Exception e) {
            StepFailed failed = new StepFailed(e.getClass().getSimpleName() + ": " + e.getMessage());
            failed.initCause(e);
            failed.step = name;
            e.printStackTrace();
            throw failed;
        }
        passed++;
        String detail = result instanceof String s && !s.isBlank() ? " — " + s : "";
        report.add(String.format("ok   %-95s %6.1f s%s", name, (System.nanoTime() - start) / 1e9, detail));
        System.out.println(report.getLast());
        return result;
    }

    static final class StepFailed extends RuntimeException {
        String step = "?";

        StepFailed(String message) {
            super(message);
        }
    }

    private void requireRunning() {
        Podman.Result r = Podman.run(Duration.ofSeconds(30), "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container);
        if (!r.ok()) {
            throw new StepFailed("cannot inspect the container, " + r.describe());
        }
        if (!r.stdout().startsWith("running")) {
            throw new StepFailed("the container stopped: " + r.stdout().strip() + " (status, exit code)");
        }
    }

    private static HttpResponse<String> get(int port, String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).GET();
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(int port, String path, byte[] body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void requireFree(int port) {
        try (ServerSocket ignored = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            // free
        } catch (IOException e) {
            throw new IllegalStateException("port " + port + " on 127.0.0.1 is in use; the image test needs "
                    + HTTP_PORT + ", " + ADMIN_PORT + ", " + PG_PORT + " and " + KAFKA_PORT + " free", e);
        }
    }

    /** Containers of an earlier run that was killed before it could clean up (only ours: by label). */
    private static void removeLeftovers() {
        String ids = Podman.check(Duration.ofSeconds(30), "ps", "--all", "--quiet", "--filter", "label=" + LABEL);
        for (String id : ids.split("\\s+")) {
            if (!id.isBlank()) {
                System.out.println("removing container " + id + " left by an earlier image test");
                Podman.check(Duration.ofSeconds(60), "rm", "--force", "--time", "0", id);
            }
        }
    }

    private void printContainerLogs() {
        Podman.Result logs = Podman.run(Duration.ofSeconds(30), "logs", "--tail", "80", container);
        if (logs.ok()) {
            System.out.println("---- last lines of the container's log ----");
            System.out.print(logs.stdout());
            System.out.print(logs.stderr());
            System.out.println("---- end of the container's log ----");
        } else {
            System.out.println("(no container log: " + logs.describe() + ")");
        }
    }

    private void removeContainer() {
        Podman.Result r = Podman.run(Duration.ofSeconds(60), "rm", "--force", "--ignore", "--time", "0", container);
        if (!r.ok()) {
            System.err.println("could not remove container " + container + ", " + r.describe());
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static String seconds(long nanos) {
        return String.format("%.1f", nanos / 1e9);
    }

    private static long millis(long nanos) {
        return nanos / 1_000_000;
    }
}
