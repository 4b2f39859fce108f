package dev.mercuryobridge.dev;

import dev.mercuryobridge.App;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.outbox.KafkaClients;
import dev.mercuryobridge.simulator.CallbackSender;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.Scenario;
import dev.mercuryobridge.simulator.Truth;
import dev.mercuryobridge.testing.TestKafka;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.kafka.clients.admin.Admin;
import sun.misc.Signal;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code make run}: an embedded PostgreSQL 17 (in .dev/pgdata, fresh each start unless DEV_KEEP_DATA=true), an embedded
 * Kafka broker (KRaft) and the real
 * service on the default ports, with a dev sign key and admin token. Environment variables still
 * override any default, exactly as in production.
 */
public final class DevMode {
    public static final String DEV_SIGN_KEY = "dev-sign-key-change-me-0123456789";
    public static final String DEV_ADMIN_TOKEN = "dev-admin-token-change-me";
    static final int DEV_PG_PORT = 15432;
    static final int DEV_KAFKA_PORT = 19092;
    static final int DEV_SIMULATOR_PORT = 18090;
    static final String DEV_PARTNER_TOKEN = "dev-partner-token";

    private DevMode() {}

    public static void main(String[] args) throws Exception {
        Path dataDir = Path.of(".dev", "pgdata").toAbsolutePath();
        // The broker starts empty each time; so does the database unless asked to keep it, so the
        // two always agree on what was published.
        if (!"true".equalsIgnoreCase(System.getenv("DEV_KEEP_DATA"))) {
            deleteRecursively(dataDir);
        }
        Files.createDirectories(dataDir);
        EmbeddedPostgres pg = startPostgres(dataDir);
        String jdbcUrl = pg.getJdbcUrl("postgres", "postgres");
        MercuryoSimulator sim = MercuryoSimulator.start(
                Integer.parseInt(System.getenv().getOrDefault("DEV_SIMULATOR_PORT", String.valueOf(DEV_SIMULATOR_PORT))),
                DEV_PARTNER_TOKEN);
        TestKafka kafka = TestKafka.start(Integer.parseInt(System.getenv().getOrDefault("DEV_KAFKA_PORT", String.valueOf(DEV_KAFKA_PORT))));

        Map<String, String> env = new HashMap<>();
        env.put("ADMIN_TOKEN", DEV_ADMIN_TOKEN);
        env.put("MERCURYO_SIGN_KEYS", DEV_SIGN_KEY);
        env.put("DATABASE_URL", jdbcUrl);
        env.put("DATABASE_USER", "postgres");
        env.put("DATABASE_PASSWORD", "postgres");
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        env.put("MERCURYO_API_BASE_URL", sim.baseUrl().toString());
        env.put("MERCURYO_PARTNER_TOKEN", DEV_PARTNER_TOKEN);
        env.put("RECONCILE_INTERVAL", "PT30S");
        env.put("RECONCILE_GRACE_PERIOD", "PT10S");
        env.putAll(System.getenv());
        Config config = Config.fromEnvironment(env);
        // The service's start-up lines all come before the banner: the topics exist before it
        // starts (its relay finds them), and the relay, on a thread of its own, is publishing.
        try (Admin admin = new KafkaClients(config).admin()) {
            KafkaClients.ensureTopics(admin, config);
        }
        App app = App.start(config);
        awaitPublisher(app);

        System.out.printf("""

                ==================================================================
                 mercuryo-bridge dev mode
                   callbacks     http://localhost:%1$d/callbacks/mercuryo
                                 http://localhost:%1$d/callbacks/mercuryo/spend-card
                   admin API     http://localhost:%2$d/api/transactions/{id}
                   health        http://localhost:%2$d/health/ready
                   metrics       http://localhost:%2$d/metrics
                   sign key      %3$s
                   admin token   %4$s
                   JDBC URL      %5$s  (user postgres, password postgres)
                   Kafka         %6$s  topics %7$s, %8$s, %9$s
                   watch a topic make watch TOPIC=%7$s
                   Mercuryo sim  %10$s  (API for the reconciler; plays a scenario now)
                   reconciler    every %11$s; caught callbacks: /api/findings?kind=missed_callback
                 Ctrl-C stops it. Each start is fresh (DEV_KEEP_DATA=true keeps the database).
                ==================================================================
                %n""", app.httpPort(), app.adminPort(),
                config.signKeys().getFirst(), config.adminToken(), jdbcUrl, kafka.bootstrapServers(),
                config.topics().transactions(), config.topics().spendCard(), config.topics().reconciliation(),
                sim.baseUrl(), config.reconcileInterval());

        Scenario scenario = scenario();
        registerCardUsers(scenario.truth(), URI.create("http://127.0.0.1:" + app.adminPort()), config.adminToken());
        playScenario(scenario, sim, URI.create("http://127.0.0.1:" + app.httpPort()), config.signKeys().getFirst());

        // Ctrl-C (or kill) stops everything in order: the service, the broker, the simulator, the
        // database. Not from a shutdown hook: Kafka's test kit and zonky register hooks of their
        // own that delete the broker's directory and stop PostgreSQL at once, under the running
        // service (a screen of ERRORs). A second Ctrl-C exits at once, through those hooks.
        CountDownLatch stop = new CountDownLatch(1);
        for (String name : List.of("INT", "TERM", "HUP")) {
            Signal.handle(new Signal(name), signal -> {
                if (stop.getCount() == 0) {
                    System.exit(128 + signal.getNumber());
                }
                stop.countDown();
            });
        }
        stop.await();
        int status = 0;
        try {
            app.close();
            kafka.close();
            sim.close();
            pg.close();
        } catch (IOException | RuntimeException e) {
            System.err.println("dev mode did not stop cleanly:");
            e.printStackTrace();
            status = 1;
        }
        System.exit(status);
    }

    /** Until the relay holds the publisher's lock (it says so in the log), or 30 s have passed. */
    private static void awaitPublisher(App app) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!app.relay().status().leader() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    /**
     * Mercuryo's side of a small day: users top up their cards and pay with them. Its last change
     * is now, so every timestamp is in the past and the day's report shows this traffic.
     */
    private static Scenario scenario() {
        long seed = Long.parseLong(System.getenv().getOrDefault("DEV_SCENARIO_SEED", "7"));
        return Scenario.endingAt(new Scenario.Config(seed, 5, 40, 3, 0.15, 0.05, 0.05, Duration.ofMillis(50), 0.1),
                Instant.now().getEpochSecond());
    }

    /**
     * Registers every scenario user as a card user with their IP, as a partner would: the
     * reconciler polls only card users with a registered IP (Mercuryo wants the user's real one).
     */
    private static void registerCardUsers(Truth truth, URI admin, String adminToken) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newHttpClient()) {
            for (CardUserRef user : truth.usersByEmail().values()) {
                HttpRequest request = HttpRequest.newBuilder(admin.resolve("/api/card-users/" + user.userUuid()))
                        .timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + adminToken)
                        .header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(
                                Json.MAPPER.writeValueAsBytes(new CardUserRegistration(user.email(), user.ip()))))
                        .build();
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("registering card user " + user.email() + " answered "
                            + response.statusCode() + ": " + response.body());
                }
            }
        }
    }

    record CardUserRegistration(String email, String ip) {}

    /**
     * Plays the scenario: the simulator posts the callbacks to the service, dropping some on
     * purpose. The reconciler's next runs find them (see the log, and /api/findings on the admin
     * port).
     */
    private static void playScenario(Scenario scenario, MercuryoSimulator sim, URI service, String signKey) {
        Thread player = new Thread(() -> {
            try (CallbackSender sender = new CallbackSender(service, signKey)) {
                Scenario.Run run = scenario.run(sim, sender);
                Truth truth = run.truth();
                java.util.Set<String> revealedByTopUp = truth.deliveredCardEvents().stream()
                        .filter(c -> c.kind() == dev.mercuryobridge.simulator.SimCallback.Kind.CRYPTO_TOP_UP)
                        .map(dev.mercuryobridge.simulator.SimCallback::sellRequestId)
                        .filter(truth.sellRequestsNeverDelivered()::contains)
                        .collect(java.util.stream.Collectors.toSet());
                System.out.printf("%nsimulator: %d callbacks planned, %d sent, %d dropped on purpose; the reconciler "
                                + "should find exactly: %d missed_callback, %d unseen_card_transaction, %d balance_drift "
                                + "(compare /api/findings after its next run)%n%n",
                        run.result().planned(), run.result().sent(), run.result().dropped(),
                        truth.sellRequestsWhoseLastDeliveredStatusIsNotFinal().size() + revealedByTopUp.size(),
                        truth.unseenLedgerItems().values().stream().mapToInt(java.util.List::size).sum(),
                        truth.expectedDriftUsers().size());
            }
        }, "dev-scenario");
        player.setDaemon(true);
        player.start();
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

    private static EmbeddedPostgres startPostgres(Path dataDir) throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(Integer.parseInt(System.getenv().getOrDefault("DEV_POSTGRES_PORT", String.valueOf(DEV_PG_PORT))))
                .start();
    }
}
