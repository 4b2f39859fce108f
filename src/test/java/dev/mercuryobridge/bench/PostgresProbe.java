package dev.mercuryobridge.bench;

import dev.mercuryobridge.testing.DurablePostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * What PostgreSQL did during a phase of {@link IngestBenchmark}: the CPU of its processes (from
 * {@code /proc}, the postmaster's reaped children included), the WAL it wrote, its commits and
 * WAL flushes, and the load generator's own CPU. With {@code deep} (BENCH_ARGS probe=1) also where
 * its sessions were (pg_stat_activity sampled every 20 ms), which statements cost what
 * (pg_stat_statements, loaded by restarting the server before the service starts) and what the
 * WAL consisted of (pg_walinspect: full-page images per resource manager).
 */
final class PostgresProbe {
    private final DurablePostgres pg;
    private final Path dataDir;
    private final boolean deep;

    private long pgTicks;
    private long selfTicks;
    private Map<String, Long> stats;
    private String lsn;
    private volatile boolean sampling;
    private Thread sampler;
    private final Map<String, Integer> waits = new ConcurrentHashMap<>();
    private int samples;

    private PostgresProbe(DurablePostgres pg, Path dataDir, boolean deep) {
        this.pg = pg;
        this.dataDir = dataDir;
        this.deep = deep;
    }

    /** With {@code deep}, restarts the (still empty) server with pg_stat_statements loaded, before the service starts. */
    static PostgresProbe start(DurablePostgres pg, Path dataDir, boolean deep) throws Exception {
        if (deep) {
            exec(pg, "alter system set shared_preload_libraries = 'pg_stat_statements', 'auto_explain'");
            exec(pg, "alter system set track_wal_io_timing = on");
            // The plans of statements slower than 20 ms, with their buffers, in the server's log.
            exec(pg, "alter system set auto_explain.log_min_duration = 20");
            exec(pg, "alter system set auto_explain.log_analyze = on");
            exec(pg, "alter system set auto_explain.log_buffers = on");
            exec(pg, "alter system set auto_explain.log_timing = on");
            exec(pg, "alter system set log_lock_waits = on");
            exec(pg, "alter system set deadlock_timeout = 5");
            pg.crash();
            pg.startAgain();
            exec(pg, "create extension if not exists pg_stat_statements");
            exec(pg, "create extension if not exists pg_walinspect");
        }
        return new PostgresProbe(pg, dataDir, deep);
    }

    /** One phase's figures, per stored callback where it says so. */
    record Phase(double pgCpuMs, double selfCpuMs, long walBytes, long commits, long walSyncs, String detail) {}

    void begin() throws Exception {
        waits.clear();
        samples = 0;
        if (deep) {
            exec(pg, "select pg_stat_statements_reset()");
        }
        stats = stats();
        lsn = query(pg, "select pg_current_wal_lsn()::text");
        pgTicks = postgresTicks();
        selfTicks = ticks(Path.of("/proc/self/stat"), false);
        if (deep) {
            sampling = true;
            sampler = Thread.ofPlatform().daemon(true).start(this::sample);
        }
    }

    Phase end() throws Exception {
        long pgNow = postgresTicks();
        long selfNow = ticks(Path.of("/proc/self/stat"), false);
        if (deep) {
            sampling = false;
            sampler.join();
        }
        String lsnNow = query(pg, "select pg_current_wal_lsn()::text");
        long walBytes = Long.parseLong(query(pg, "select pg_wal_lsn_diff('" + lsnNow + "', '" + lsn + "')::bigint::text"));
        Map<String, Long> now = stats();
        StringBuilder detail = new StringBuilder();
        if (deep) {
            detail.append(String.format("    pg_stat_wal: %d records, %d full-page images, %d writes, %d syncs (%.0f ms),"
                            + " checkpoints %d%n", now.get("wal_records") - stats.get("wal_records"),
                    now.get("wal_fpi") - stats.get("wal_fpi"), now.get("wal_write") - stats.get("wal_write"),
                    now.get("wal_sync") - stats.get("wal_sync"), (now.get("wal_sync_time_us") - stats.get("wal_sync_time_us")) / 1e3,
                    now.get("checkpoints") - stats.get("checkpoints")));
            detail.append("    sessions (share of ").append(samples).append(" samples of pg_stat_activity):\n");
            waits.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(12)
                    .forEach(e -> detail.append(String.format("      %6.2f  %s%n", e.getValue() / (double) Math.max(1, samples),
                            e.getKey())));
            detail.append(table(pg, "WAL by record type (pg_walinspect)", "select \"resource_manager/record_type\" as type,"
                    + " count, record_size, fpi_size, combined_size from pg_get_wal_stats('" + lsn + "', '" + lsnNow + "', true)"
                    + " where count > 0 order by combined_size desc limit 10"));
            detail.append(table(pg, "WAL blocks by relation (pg_walinspect)", "select coalesce(c.relname, b.relfilenode::text)"
                    + " as relation, count(*) as blocks, count(distinct b.relblocknumber) as distinct_pages,"
                    + " count(*) filter (where b.block_fpi_length > 0) as fpis, sum(b.block_fpi_length) as fpi_bytes,"
                    + " sum(b.block_data_length) as data_bytes from pg_get_wal_block_info('" + lsn + "', '" + lsnNow + "', false) b"
                    + " left join pg_class c on c.relfilenode = b.relfilenode group by 1 order by sum(b.block_fpi_length)"
                    + " + sum(b.block_data_length) desc limit 14"));
            detail.append(table(pg, "statements (pg_stat_statements, by kind)", "select left(regexp_replace(query, '\\s+', ' ', 'g'), 70)"
                    + " as kind, sum(calls) as calls, sum(rows) as rows, round(sum(total_exec_time)::numeric, 0) as total_ms,"
                    + " round((sum(total_exec_time) / sum(calls))::numeric, 2) as mean_ms, round(max(max_exec_time)::numeric, 1) as max_ms, sum(wal_bytes) as wal_bytes,"
                    + " sum(wal_fpi) as wal_fpi from pg_stat_statements group by 1 order by sum(total_exec_time) desc limit 12"));
        }
        return new Phase((pgNow - pgTicks) * 10.0, (selfNow - selfTicks) * 10.0, walBytes,
                now.get("commits") - stats.get("commits"), now.get("wal_sync") - stats.get("wal_sync"), detail.toString());
    }

    private void sample() {
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement()) {
            while (sampling) {
                try (ResultSet rs = s.executeQuery("select backend_type, state, wait_event_type, wait_event"
                        + " from pg_stat_activity where pid <> pg_backend_pid()")) {
                    while (rs.next()) {
                        String type = rs.getString(1);
                        String state = rs.getString(2);
                        String wait = rs.getString(3) == null ? "on CPU" : rs.getString(3) + ":" + rs.getString(4);
                        if ("client backend".equals(type)) {
                            waits.merge("client " + state + " / " + wait, 1, Integer::sum);
                        } else if (rs.getString(3) == null || !"Activity".equals(rs.getString(3))) {
                            waits.merge(type + " / " + wait, 1, Integer::sum);
                        }
                    }
                }
                samples++;
                Thread.sleep(20);
            }
        } catch (SQLException | InterruptedException e) {
            waits.merge("sampler failed: " + e, 1, Integer::sum);
        }
    }

    private Map<String, Long> stats() throws SQLException {
        Map<String, Long> m = new TreeMap<>();
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select w.wal_records, w.wal_fpi, w.wal_write, w.wal_sync,"
                     + " (w.wal_sync_time * 1000)::bigint, (select sum(xact_commit) from pg_stat_database),"
                     + " (select num_timed + num_requested from pg_stat_checkpointer) from pg_stat_wal w")) {
            rs.next();
            String[] names = {"wal_records", "wal_fpi", "wal_write", "wal_sync", "wal_sync_time_us", "commits", "checkpoints"};
            for (int i = 0; i < names.length; i++) {
                m.put(names[i], rs.getLong(i + 1));
            }
        }
        return m;
    }

    private long postgresTicks() throws IOException {
        return postgresTicks(dataDir);
    }

    /** CPU ticks (1/100 s) of the postmaster of {@code dataDir} (with its reaped children) and of its live children. */
    static long postgresTicks(Path dataDir) throws IOException {
        long postmaster = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).getFirst().strip());
        long total = ticks(Path.of("/proc", String.valueOf(postmaster), "stat"), true);
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String[] f = fields(Files.readString(p.resolve("stat")));
                    if (Long.parseLong(f[1]) == postmaster) {
                        total += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    }
                } catch (IOException e) {
                    // the process exited meanwhile; the postmaster's cutime has it
                }
            }
        }
        return total;
    }

    private static long ticks(Path stat, boolean withChildren) throws IOException {
        String[] f = fields(Files.readString(stat));
        long t = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        return withChildren ? t + Long.parseLong(f[13]) + Long.parseLong(f[14]) : t;
    }

    /** The fields of /proc/pid/stat after the command name: f[0] is state, f[1] ppid, f[11..14] utime stime cutime cstime. */
    private static String[] fields(String stat) {
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }

    private static String table(DurablePostgres pg, String title, String sql) throws SQLException {
        StringBuilder b = new StringBuilder("    ").append(title).append(":\n");
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            List<String> head = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                head.add(rs.getMetaData().getColumnLabel(i));
            }
            b.append("      ").append(String.join(" | ", head)).append('\n');
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    row.add(rs.getString(i));
                }
                b.append("      ").append(String.join(" | ", row)).append('\n');
            }
        }
        return b.toString();
    }

    private static void exec(DurablePostgres pg, String sql) throws SQLException {
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static String query(DurablePostgres pg, String sql) throws SQLException {
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
