package dev.mercuryobridge.bench;

import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.report.ReconciliationReport;
import dev.mercuryobridge.report.ReportRequest;
import dev.mercuryobridge.testing.TestDatabase;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code make bench-report}: the reconciliation report over N transactions (default 1,000,000,
 * each with its callback event, over 30 days) written as CSV and JSON to a counting sink. Prints
 * the time, the rows per second, the ratio to a baseline (a plain JDBC cursor reading the same
 * rows in the same run) and the peak heap in use, which stays flat because rows stream.
 * Arguments: {@code transactions=1000000}.
 */
public final class ReportBenchmark {

    public static void main(String[] args) throws Exception {
        TestDatabase.durable();
        System.out.println("PostgreSQL: " + TestDatabase.durability());
        Map<String, Integer> opts = BenchArgs.parse("ReportBenchmark", args, Map.of("transactions", 1_000_000));
        int n = opts.get("transactions");
        String url = TestDatabase.freshDatabaseUrl();
        try (Database db = Database.connect(url, "postgres", "postgres")) {
            db.migrate();
            long t0 = System.nanoTime();
            seed(db, n);
            System.out.printf("mercuryo-bridge report benchmark: %,d transactions over 30 days (seeded in %.1f s), max heap %d MiB%n",
                    n, seconds(t0), Runtime.getRuntime().maxMemory() >> 20);

            long baselineStart = System.nanoTime();
            long baselineRows = baseline(db);
            double baseline = seconds(baselineStart);

            ReconciliationReport report = new ReconciliationReport(db.dsl(), Clock.systemUTC());
            System.out.printf("%n%-34s %10s %12s %12s %14s%n", "", "seconds", "rows/s", "MiB written", "peak heap MiB");
            System.out.printf("%-34s %10.1f %,12.0f %12s %14s%n", "baseline: JDBC cursor, same rows", baseline,
                    baselineRows / baseline, "-", "-");
            for (ReportRequest.Format format : new ReportRequest.Format[] {ReportRequest.Format.CSV, ReportRequest.Format.JSON}) {
                System.gc();
                resetPeaks();
                CountingSink sink = new CountingSink();
                long start = System.nanoTime();
                report.write(new ReportRequest(java.time.LocalDate.parse("2024-01-01"), java.time.LocalDate.parse("2024-01-30"),
                        java.time.ZoneId.of("UTC"), format), sink);
                double took = seconds(start);
                System.out.printf("%-34s %10.1f %,12.0f %12.1f %14.1f   (%.1fx baseline)%n", "report " + format.name().toLowerCase(),
                        took, n / took, sink.bytes.get() / 1048576.0, peakHeap() / 1048576.0, took / baseline);
            }
        }
        System.exit(0);
    }

    private static void seed(Database db, int n) throws Exception {
        try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute("set synchronous_commit = off");
            s.execute("""
                    insert into transaction_state (transaction_id, transaction_type, payment_method, status, status_rank, final,
                        updated_at_ts, created_at_ts, merchant_transaction_id, amount, currency, fiat_amount, fiat_currency,
                        fee, partner_fee, rate, user_uuid, last_sequence, last_detected_by)
                    select 'bench' || i, case when i % 3 = 0 then 'sell' else 'buy' end, 'card',
                           case when i % 50 = 0 then 'pending' when i % 3 = 0 then 'succeeded' else 'paid' end,
                           case when i % 50 = 0 then 10 else 100 end, i % 50 <> 0,
                           1704067200 + (i * 2592000::bigint / N) + 60, 1704067200 + (i * 2592000::bigint / N),
                           'm' || i, (i % 997) / 100000.0 + 0.001, 'BTC', (i % 9973) / 100.0 + 1, case when i % 2 = 0 then 'EUR' else 'USD' end,
                           1.20, 0.00, 25756.99, 'user' || (i % 1000), 2, 'callback'
                      from generate_series(1, N) as i""".replace("N", Integer.toString(n)));
            s.execute("""
                    insert into transaction_event (transaction_id, status, updated_at_ts, detected_by, data)
                    select transaction_id, status, updated_at_ts, 'callback', '{}'::jsonb from transaction_state""");
            s.execute("analyze");
        }
    }

    private static long baseline(Database db) throws Exception {
        long rows = 0;
        try (Connection c = db.dataSource().getConnection()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.setFetchSize(1_000);
                try (ResultSet rs = s.executeQuery("select * from transaction_state order by created_at_ts, transaction_id")) {
                    CountingSink sink = new CountingSink();
                    while (rs.next()) {
                        sink.write((rs.getString(1) + "," + rs.getString(4) + "," + rs.getBigDecimal("fiat_amount") + "\n").getBytes());
                        rows++;
                    }
                }
            }
            c.commit();
        }
        return rows;
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
    }

    /** The largest heap in use since the reset, summed over the heap pools. */
    private static long peakHeap() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static final class CountingSink extends OutputStream {
        final AtomicLong bytes = new AtomicLong();

        @Override
        public void write(int b) {
            bytes.incrementAndGet();
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes.addAndGet(len);
        }
    }
}
