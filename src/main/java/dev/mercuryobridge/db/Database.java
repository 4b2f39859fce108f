package dev.mercuryobridge.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.mercuryobridge.config.Config;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;

/** The connection pool, the jOOQ context over it, and the Flyway migrations. */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    /** Migrations ship inside the jar (copied from db/migration at build time). */
    static final String MIGRATIONS = "classpath:db/migration";

    private final HikariDataSource dataSource;
    private final DSLContext dsl;

    private Database(HikariDataSource dataSource) {
        this.dataSource = dataSource;
        this.dsl = DSL.using(dataSource, SQLDialect.POSTGRES, new Settings().withRenderSchema(false));
    }

    /**
     * For the one-off commands ({@code migrate}, {@code report}): only DATABASE_URL,
     * DATABASE_USER and DATABASE_PASSWORD are needed, not the service's whole configuration.
     */
    public static Database fromEnvironment(java.util.Map<String, String> env) {
        Config.ForCommands settings = Config.forCommands(env);
        return connect(settings.databaseUrl(), settings.databaseUser(), settings.databasePassword());
    }

    /** A small pool for one-off work such as the report command. */
    public static Database connect(String url, String user, String password) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("mercuryo-bridge-cli");
        hc.setJdbcUrl(url);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(2);
        hc.setConnectionTimeout(10_000);
        return new Database(new HikariDataSource(hc));
    }

    /** The service's pool: callbacks, the outbox relay, the admin API; the size is DATABASE_POOL_SIZE. */
    public static Database connect(Config config) {
        HikariConfig hc = pool(config, "mercuryo-bridge", config.databasePoolSize());
        // A request must learn quickly that the database is gone: Mercuryo then gets a 503 and
        // retries, instead of the request hanging for Hikari's default 30 s.
        hc.setConnectionTimeout(Math.max(250, config.databaseConnectTimeout().toMillis()));
        hc.addDataSourceProperty("socketTimeout", "30");
        return new Database(new HikariDataSource(hc));
    }

    /**
     * The pool of reports and the reconciler, apart from the callbacks' so that they can never
     * take its connections. Every session has DATABASE_LOCK_TIMEOUT and the longer
     * DATABASE_REPORTS_STATEMENT_TIMEOUT; work here may wait for a free connection (nobody
     * retries it the way Mercuryo retries a callback).
     */
    public static Database connectReports(Config config) {
        var limits = config.databaseLimits();
        HikariConfig hc = pool(config, "mercuryo-bridge-reports", limits.reportsPoolSize());
        hc.setConnectionTimeout(30_000);
        hc.setConnectionInitSql(new Timeouts(limits.lockTimeout(), limits.reportsStatementTimeout()).sessionSql());
        // The server cancels a statement at its limit; the socket must not give up first.
        hc.addDataSourceProperty("socketTimeout", String.valueOf(limits.reportsStatementTimeout().toSeconds() + 30));
        return new Database(new HikariDataSource(hc));
    }

    private static HikariConfig pool(Config config, String name, int size) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName(name);
        hc.setJdbcUrl(config.databaseUrl());
        hc.setUsername(config.databaseUser());
        hc.setPassword(config.databasePassword());
        hc.setMaximumPoolSize(size);
        hc.setValidationTimeout(Math.max(250, Math.min(config.databaseConnectTimeout().toMillis(), 1_000)));
        // Start even when the database is not up yet; readiness reports it until it is.
        hc.setInitializationFailTimeout(-1);
        hc.addDataSourceProperty("connectTimeout", String.valueOf(Math.max(1, config.databaseConnectTimeout().toSeconds())));
        hc.addDataSourceProperty("tcpKeepAlive", "true");
        return hc;
    }

    public DSLContext dsl() {
        return dsl;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    static Flyway flyway(DataSource dataSource) {
        return Flyway.configure()
                .dataSource(dataSource)
                .locations(MIGRATIONS)
                .failOnMissingLocations(true)
                .load();
    }

    public MigrateResult migrate() {
        MigrateResult result = flyway(dataSource).migrate();
        log.info("database schema at version {} ({} migration(s) applied now)",
                result.targetSchemaVersion != null ? result.targetSchemaVersion : result.initialSchemaVersion,
                result.migrationsExecuted);
        return result;
    }

    /** True when no migration is pending: the schema this build expects is in place. */
    public boolean migrationsApplied() {
        return flyway(dataSource).info().pending().length == 0;
    }

    /** A cheap round trip with a short timeout; false when the database cannot be reached. */
    public boolean reachable() {
        try (Connection c = dataSource.getConnection()) {
            return c.isValid(1);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
