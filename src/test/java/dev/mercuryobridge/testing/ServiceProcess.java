package dev.mercuryobridge.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The production jar ({@code java -jar target/mercuryo-bridge.jar serve}) as a process of its
 * own, configured by its environment only, as a deployment runs it; its output is appended to a
 * log file. The benchmarks and the chaos suite drive it over its ports from their own JVM.
 */
public final class ServiceProcess implements AutoCloseable {
    private static final HttpClient PROBE = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    private final int httpPort;
    private final int adminPort;
    private final Path log;

    private ServiceProcess(Process process, int httpPort, int adminPort, Path log) {
        this.process = process;
        this.httpPort = httpPort;
        this.adminPort = adminPort;
        this.log = log;
    }

    /** The jar to run: {@code -Dbench.jar=...} (e.g. another build), else {@code target/mercuryo-bridge.jar}. */
    public static Path jar(String makeTarget) {
        Path jar = Path.of(System.getProperty("bench.jar", "target/mercuryo-bridge.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing; " + makeTarget + " builds it first");
        }
        return jar;
    }

    /**
     * The environment of one instance: this process's own environment (so any setting can be
     * tuned from the shell), then the ports, secrets and addresses given here. The Mercuryo API
     * points at a closed port: the reconciler has nothing to reach.
     */
    public static Map<String, String> environment(int httpPort, int adminPort, String adminToken, String signKey,
                                                  String databaseUrl, String kafkaBootstrapServers) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("HTTP_PORT", String.valueOf(httpPort));
        env.put("ADMIN_PORT", String.valueOf(adminPort));
        env.put("ADMIN_TOKEN", adminToken);
        env.put("MERCURYO_SIGN_KEYS", signKey);
        env.put("DATABASE_URL", databaseUrl);
        env.put("DATABASE_USER", "postgres");
        env.put("DATABASE_PASSWORD", "postgres");
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers);
        env.put("MERCURYO_API_BASE_URL", "http://127.0.0.1:9");
        return env;
    }

    /** Starts the jar with exactly this environment ({@code HTTP_PORT} and {@code ADMIN_PORT} in it). */
    public static ServiceProcess start(Path jar, Map<String, String> env, Path log) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        // -Dservice.jvmArgs="-XX:StartFlightRecording=..." profiles the service under the same load.
        String jvmArgs = System.getProperty("service.jvmArgs", "").trim();
        if (!jvmArgs.isEmpty()) {
            command.addAll(List.of(jvmArgs.split("\\s+")));
        }
        command.addAll(List.of("-jar", jar.toString(), "serve"));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        return new ServiceProcess(pb.start(), Integer.parseInt(env.get("HTTP_PORT")),
                Integer.parseInt(env.get("ADMIN_PORT")), log);
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public int httpPort() {
        return httpPort;
    }

    public int adminPort() {
        return adminPort;
    }

    public Path log() {
        return log;
    }

    /** Waits until {@code /health/live} answers 200; fails at once if the process exits. */
    public void awaitLive(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpRequest live = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/health/live"))
                .timeout(Duration.ofSeconds(2)).build();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the service exited with " + process.exitValue() + "; see " + log);
            }
            try {
                if (PROBE.send(live, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the service did not come up within " + timeout.toSeconds() + " s; see " + log);
    }

    /** GET on the admin port (no credentials: health and metrics only); the body, or null if it cannot be reached. */
    public String adminGet(String path) throws InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(5)).build();
        try {
            return PROBE.send(request, HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return null;
        }
    }

    /** {@code kill -9}: no shutdown hook, no graceful anything. Returns once the process is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** utime + stime of the process, in clock ticks (Linux {@code /proc/<pid>/stat}). */
    public long cpuTicks() throws IOException {
        String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
        // Fields after the command name (which may contain spaces) start after the last ')'.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** SIGTERM (graceful shutdown), then SIGKILL if it is still running after 30 s. */
    @Override
    public void close() throws InterruptedException {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
