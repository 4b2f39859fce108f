package dev.mercuryobridge.dev;

import dev.mercuryobridge.App;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.testing.TestKafka;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
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
        TestKafka kafka = TestKafka.start(Integer.parseInt(System.getenv().getOrDefault("DEV_KAFKA_PORT", String.valueOf(DEV_KAFKA_PORT))));

        Map<String, String> env = new HashMap<>();
        env.put("ADMIN_TOKEN", DEV_ADMIN_TOKEN);
        env.put("MERCURYO_SIGN_KEYS", DEV_SIGN_KEY);
        env.put("DATABASE_URL", jdbcUrl);
        env.put("DATABASE_USER", "postgres");
        env.put("DATABASE_PASSWORD", "postgres");
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        env.putAll(System.getenv());
        Config config = Config.fromEnvironment(env);
        App app = App.start(config);

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
                 Ctrl-C stops it. Each start is fresh (DEV_KEEP_DATA=true keeps the database).
                ==================================================================
                %n""", app.httpPort(), app.adminPort(),
                config.signKeys().getFirst(), config.adminToken(), jdbcUrl, kafka.bootstrapServers(),
                config.topics().transactions(), config.topics().spendCard(), config.topics().reconciliation());

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            kafka.close();
            try {
                pg.close();
            } catch (IOException e) {
                System.err.println("could not stop the embedded PostgreSQL: " + e.getMessage());
            }
            stopped.countDown();
        }, "dev-shutdown"));
        stopped.await();
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
