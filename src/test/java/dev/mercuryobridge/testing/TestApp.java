package dev.mercuryobridge.testing;

import dev.mercuryobridge.App;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.ingest.SignatureVerifier;
import org.jooq.DSLContext;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** The real application on a fresh database and random ports, with a small HTTP client. */
public final class TestApp implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
    public static final String SIGN_KEY = "test-sign-key-0123456789abcdef";
    public static final String OLD_SIGN_KEY = "old-sign-key-fedcba9876543210";
    public static final String ADMIN_TOKEN = "test-admin-token-0123456789";

    private static final java.util.concurrent.atomic.AtomicLong TOPIC_COUNTER = new java.util.concurrent.atomic.AtomicLong();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private App app;
    /** For {@link #perClass}: what the app starts with when the test class starts. */
    private final Map<String, String> overrides;

    private TestApp(App app) {
        this.app = app;
        this.overrides = Map.of();
    }

    private TestApp(Map<String, String> overrides) {
        this.overrides = Map.copyOf(overrides);
    }

    /**
     * One app for a whole test class, started before its first test and closed after its last:
     * {@code @RegisterExtension static final TestApp app = TestApp.perClass();}
     */
    public static TestApp perClass() {
        return perClass(Map.of());
    }

    public static TestApp perClass(Map<String, String> overrides) {
        return new TestApp(overrides);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        app = start(overrides).app;
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    public static TestApp start() {
        return start(Map.of());
    }

    /**
     * Starts the app on a fresh database against the shared broker, with topic names of its own
     * (so tests sharing the broker never read each other's messages). Overrides win.
     */
    public static TestApp start(Map<String, String> overrides) {
        return startOn(TestDatabase.freshDatabaseUrl(), overrides);
    }

    /** Starts the app on a given database (several apps may share one, as replicas do). */
    public static TestApp startOn(String databaseUrl, Map<String, String> overrides) {
        Map<String, String> withKafka = new HashMap<>(kafkaEnv(TestKafka.shared().bootstrapServers()));
        withKafka.putAll(overrides);
        return new TestApp(App.start(Config.fromEnvironment(env(databaseUrl, withKafka))));
    }

    /** Broker address and unique topic names. */
    public static Map<String, String> kafkaEnv(String bootstrapServers) {
        String suffix = Long.toString(TOPIC_COUNTER.incrementAndGet());
        return Map.of(
                "KAFKA_BOOTSTRAP_SERVERS", bootstrapServers,
                "KAFKA_TOPIC_TRANSACTIONS", "t" + suffix + ".transactions",
                "KAFKA_TOPIC_SPEND_CARD", "t" + suffix + ".spend-card",
                "KAFKA_TOPIC_RECONCILIATION", "t" + suffix + ".reconciliation",
                "KAFKA_TOPIC_PARTITIONS", "3");
    }

    public String transactionsTopic() {
        return app.config().topics().transactions();
    }

    public static Map<String, String> env(String databaseUrl, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>(Map.of(
                "HTTP_PORT", "0",
                "ADMIN_PORT", "0",
                "ADMIN_TOKEN", ADMIN_TOKEN,
                "MERCURYO_SIGN_KEYS", SIGN_KEY + "," + OLD_SIGN_KEY,
                "DATABASE_URL", databaseUrl,
                "DATABASE_USER", "postgres",
                "DATABASE_PASSWORD", "postgres",
                "SHUTDOWN_TIMEOUT", "PT10S"));
        env.putAll(overrides);
        return env;
    }

    public App app() {
        return app;
    }

    public DSLContext dsl() {
        return app.database().dsl();
    }

    public HttpResponse<String> postCallback(String path, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return postCallback(path, bytes, SignatureVerifier.sign(SIGN_KEY, bytes));
    }

    public HttpResponse<String> postCallback(String path, byte[] body, String signature) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (signature != null) {
            request.header("X-Signature", signature);
        }
        return send(request.build());
    }

    public HttpResponse<String> admin(String method, String path) {
        return admin(method, path, ADMIN_TOKEN);
    }

    public HttpResponse<String> admin(String method, String path, String token) {
        return admin(method, path, null, token);
    }

    /** An admin call with a JSON body and the admin token. */
    public HttpResponse<String> adminJson(String method, String path, String jsonBody) {
        return admin(method, path, jsonBody, ADMIN_TOKEN);
    }

    public HttpResponse<String> admin(String method, String path, String body, String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.adminPort() + path))
                .timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return send(request.build());
    }

    /**
     * Sends on a connection of its own. For requests the server answers by closing the connection
     * (an oversized or malformed request): a pooled connection would be handed to the next
     * request already closed.
     */
    public HttpResponse<String> adminOnOwnConnection(String method, String path, String jsonBody) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.adminPort() + path))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + ADMIN_TOKEN)
                .method(method, HttpRequest.BodyPublishers.ofString(jsonBody))
                .build();
        return sendOnOwnConnection(request);
    }

    public static HttpResponse<String> sendOnOwnConnection(HttpRequest request) {
        try (HttpClient own = HttpClient.newHttpClient()) {
            return own.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (app != null) {
            app.close();
        }
    }
}
