package dev.mercuryobridge.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One real PostgreSQL 17 for the whole test run (started on first use, stopped at JVM exit), and
 * a fresh, empty database for each caller, so tests are isolated without restarting the server.
 *
 * <p>Tests run it with fsync and synchronous_commit off (they check behaviour, not speed).
 * Benchmarks call {@link #durable()} first: their figures come from a database that flushes
 * every commit to disk, as production does.
 */
public final class TestDatabase {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static volatile EmbeddedPostgres server;
    private static boolean durable;

    private TestDatabase() {}

    /** Makes the server durable (fsync and synchronous_commit on); call before anything starts it. */
    public static synchronized void durable() {
        if (server != null && !durable) {
            throw new IllegalStateException("the test PostgreSQL already runs without fsync");
        }
        durable = true;
    }

    public static synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                EmbeddedPostgres pg = EmbeddedPostgres.builder()
                        .setServerConfig("max_connections", "300")
                        .setServerConfig("fsync", durable ? "on" : "off")
                        .setServerConfig("synchronous_commit", durable ? "on" : "off")
                        .start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        pg.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }));
                server = pg;
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the embedded PostgreSQL", e);
            }
        }
        return server;
    }

    /** Creates an empty database and returns its JDBC URL (user and password: postgres). */
    public static String freshDatabaseUrl() {
        EmbeddedPostgres pg = server();
        String name = "test_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("create database " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name, e);
        }
        return pg.getJdbcUrl("postgres", name);
    }

    /** The server's durability settings as PostgreSQL reports them, for a benchmark's header. */
    public static String durability() {
        try (Connection c = server().getPostgresDatabase().getConnection(); Statement s = c.createStatement();
             var rs = s.executeQuery("select current_setting('fsync'), current_setting('synchronous_commit')")) {
            rs.next();
            return "fsync=" + rs.getString(1) + ", synchronous_commit=" + rs.getString(2);
        } catch (SQLException e) {
            throw new IllegalStateException("could not read the test PostgreSQL's settings", e);
        }
    }
}
