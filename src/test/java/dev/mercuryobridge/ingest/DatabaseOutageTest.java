package dev.mercuryobridge.ingest;

import dev.mercuryobridge.App;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/** A stopped database gives 503 (Mercuryo retries), never 200; the service recovers by itself. */
class DatabaseOutageTest {

    @TempDir
    Path dataDir;

    private EmbeddedPostgres startPostgres(int port) throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(port)
                .start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void stopped_database_gives_503_and_the_service_recovers_when_it_returns() throws Exception {
        int port = freePort();
        EmbeddedPostgres pg = startPostgres(port);
        Config config = Config.fromEnvironment(TestApp.env(pg.getJdbcUrl("postgres", "postgres"), Map.of()));
        try (App app = App.start(config)) {
            TestAppClient client = new TestAppClient(app);
            assertThat(client.post(transaction("outage1", "buy", "new", 100))).isEqualTo(200);

            pg.close();

            String duringOutage = transaction("outage1", "buy", "pending", 200);
            var response = client.postFull(duringOutage);
            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(Json.MAPPER.readTree(response.body()).get("error").asText()).isEqualTo("database_unavailable");
            assertThat(client.ready()).isEqualTo(503);

            pg = startPostgres(port);

            // The pool reconnects by itself (its retry back-off can take a few seconds); Mercuryo's
            // own retry comes 60 s later at the earliest.
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (client.ready() != 200 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertThat(client.ready()).isEqualTo(200);
            assertThat(client.post(duringOutage)).isEqualTo(200);
            assertThat(app.database().dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq("outage1"))
                    .getStatus()).isEqualTo("pending");
            var metrics = TestApp.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.adminPort() + "/metrics")).build());
            assertThat(metrics.body()).contains("result=\"unavailable\"");
        } finally {
            pg.close();
        }
    }

    /** Minimal client for an App started outside TestApp. */
    private record TestAppClient(App app) {
        int post(String body) {
            return postFull(body).statusCode();
        }

        java.net.http.HttpResponse<String> postFull(String body) {
            byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            return TestApp.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + TRANSACTION_PATH))
                    .header("X-Signature", SignatureVerifier.sign(TestApp.SIGN_KEY, bytes))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build());
        }

        int ready() {
            return TestApp.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.adminPort() + "/health/ready"))
                    .build()).statusCode();
        }
    }
}
