package dev.mercuryobridge.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PostgreSQL 17 server as durable as production (fsync, synchronous_commit and full_page_writes
 * on), running in processes of its own (pg_ctl starts the postmaster), on a data directory of its
 * own. The benchmarks and the chaos suite run the production jar against it.
 *
 * <p>It can be crashed and started again under a running service: zonky runs initdb and the first
 * start; {@link #crash()} and {@link #startAgain()} drive the same binaries' {@code pg_ctl} with
 * the options of the first start, read back from the server's own {@code postmaster.opts}.
 */
public final class DurablePostgres implements AutoCloseable {
    private static final Pattern QUOTED = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");

    private final EmbeddedPostgres pg;
    private final Path dataDir;
    private final Path pgCtl;
    private final List<String> options;
    private final Path log;

    private DurablePostgres(EmbeddedPostgres pg, Path dataDir, Path pgCtl, List<String> options, Path log) {
        this.pg = pg;
        this.dataDir = dataDir;
        this.pgCtl = pgCtl;
        this.options = options;
        this.log = log;
    }

    /**
     * Starts a fresh server on {@code dataDir} (emptied first). {@code port} 0 picks a free one.
     * Fails unless fsync and synchronous_commit are really on.
     */
    public static DurablePostgres start(Path dataDir, int port, int maxConnections) throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir).setCleanDataDirectory(true)
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("full_page_writes", "on")
                .setServerConfig("max_connections", String.valueOf(maxConnections));
        if (port != 0) {
            builder.setPort(port);
        }
        EmbeddedPostgres pg = builder.start();
        try {
            // e.g. /tmp/embedded-pg/PG-…/bin/postgres "-D" "/data" "-p" "15632" "-F" "-c" "fsync=on" …
            String opts = Files.readString(dataDir.resolve("postmaster.opts")).strip();
            Path postgres = Path.of(opts.substring(0, opts.indexOf(" \"")));
            List<String> args = new ArrayList<>();
            Matcher m = QUOTED.matcher(opts);
            while (m.find()) {
                args.add(m.group(1));
            }
            int d = args.indexOf("-D");
            if (d < 0) {
                throw new IllegalStateException("no -D in postmaster.opts: " + opts);
            }
            args.remove(d + 1);
            args.remove(d);
            DurablePostgres server = new DurablePostgres(pg, dataDir, postgres.resolveSibling("pg_ctl"), List.copyOf(args),
                    dataDir.resolveSibling(dataDir.getFileName() + ".log"));
            server.checkDurable();
            return server;
        } catch (IOException | RuntimeException e) {
            pg.close();
            throw e;
        }
    }

    public String jdbcUrl() {
        return pg.getJdbcUrl("postgres", "postgres");
    }

    public int port() {
        return pg.getPort();
    }

    /** Connections of the superuser to the {@code postgres} database (new ones work after a restart). */
    public DataSource dataSource() {
        return pg.getPostgresDatabase();
    }

    /**
     * Stops the server the way a crash does ({@code pg_ctl stop -m immediate}): every session is
     * cut without a goodbye and no checkpoint is written; the next start replays the WAL.
     */
    public void crash() {
        pgCtl(List.of("-D", dataDir.toString(), "-m", "immediate", "-w", "stop"));
    }

    /** Starts the server again on the same data directory, port and settings; waits until it accepts connections. */
    public void startAgain() {
        StringBuilder o = new StringBuilder();
        for (String a : options) {
            o.append(o.isEmpty() ? "" : " ").append('"').append(a.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        pgCtl(List.of("-D", dataDir.toString(), "-l", log.toString(), "-o", o.toString(), "-w", "-t", "120", "start"));
    }

    private void pgCtl(List<String> args) {
        List<String> command = new ArrayList<>();
        if (LinuxUtils.isUnshareAvailable()) {
            // As zonky runs them: PostgreSQL refuses to run as root, a user namespace maps it to another user.
            command.addAll(List.of("unshare", "-U"));
        }
        command.add(pgCtl.toString());
        command.addAll(args);
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (!p.waitFor(150, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("pg_ctl " + args.getLast() + " did not finish; see " + log);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("pg_ctl " + args.getLast() + " exited with " + p.exitValue() + "; see " + log);
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + pgCtl, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running pg_ctl", e);
        }
    }

    private void checkDurable() {
        try (Connection c = dataSource().getConnection(); Statement s = c.createStatement()) {
            for (String setting : new String[] {"fsync", "synchronous_commit", "full_page_writes"}) {
                try (ResultSet rs = s.executeQuery("show " + setting)) {
                    rs.next();
                    if (!"on".equals(rs.getString(1))) {
                        throw new IllegalStateException(setting + " is " + rs.getString(1) + "; a durable server needs it on");
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not read the server's settings", e);
        }
    }

    /** Stops the server ({@code pg_ctl stop -m fast}) and removes its data directory. */
    @Override
    public void close() throws IOException {
        pg.close();
    }
}
