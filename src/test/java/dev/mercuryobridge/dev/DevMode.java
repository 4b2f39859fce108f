package dev.mercuryobridge.dev;

import dev.mercuryobridge.App;
import dev.mercuryobridge.config.Config;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code make run}: an embedded PostgreSQL 17 (data kept in .dev/pgdata between runs) and the real
 * service on the default ports, with a dev sign key and admin token. Environment variables still
 * override any default, exactly as in production.
 */
public final class DevMode {
    public static final String DEV_SIGN_KEY = "dev-sign-key-change-me-0123456789";
    public static final String DEV_ADMIN_TOKEN = "dev-admin-token-change-me";
    static final int DEV_PG_PORT = 15432;

    private DevMode() {}

    public static void main(String[] args) throws Exception {
        Path dataDir = Path.of(".dev", "pgdata").toAbsolutePath();
        Files.createDirectories(dataDir);
        EmbeddedPostgres pg = startPostgres(dataDir);
        String jdbcUrl = pg.getJdbcUrl("postgres", "postgres");

        Map<String, String> env = new HashMap<>();
        env.put("ADMIN_TOKEN", DEV_ADMIN_TOKEN);
        env.put("MERCURYO_SIGN_KEYS", DEV_SIGN_KEY);
        env.put("DATABASE_URL", jdbcUrl);
        env.put("DATABASE_USER", "postgres");
        env.put("DATABASE_PASSWORD", "postgres");
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
                 Ctrl-C stops it; data stays in .dev/pgdata (make clean removes it).
                ==================================================================
                %n""", app.httpPort(), app.adminPort(),
                config.signKeys().getFirst(), config.adminToken(), jdbcUrl);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            try {
                pg.close();
            } catch (IOException e) {
                System.err.println("could not stop the embedded PostgreSQL: " + e.getMessage());
            }
            stopped.countDown();
        }, "dev-shutdown"));
        stopped.await();
    }

    private static EmbeddedPostgres startPostgres(Path dataDir) throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(Integer.parseInt(System.getenv().getOrDefault("DEV_POSTGRES_PORT", String.valueOf(DEV_PG_PORT))))
                .start();
    }
}
