package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.TimeZone;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Monthly partitions of the callback table: UTC bounds, a DDL that never stalls inserts for long, retried. */
class CallbackPartitionsTest {
    private static final Duration DDL_TIMEOUT = Duration.ofMillis(500);
    /** Far from any month the migrations prepare. */
    private static final Clock JAN_2091 = Clock.fixed(Instant.parse("2091-01-15T12:00:00Z"), ZoneOffset.UTC);

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private String url;
    private Database database;

    @BeforeEach
    void migrate() {
        url = TestDatabase.freshDatabaseUrl();
    }

    @AfterEach
    void close() {
        scheduler.shutdownNow();
        if (database != null) {
            database.close();
        }
    }

    private DSLContext connect() {
        database = Database.connect(url, "postgres", "postgres");
        database.migrate();
        return database.dsl();
    }

    @Test
    void months_are_bounded_in_utc_whatever_the_zone_of_the_jvm() {
        TimeZone original = TimeZone.getDefault();
        DSLContext dsl;
        try {
            // The driver gives each session the JVM's zone; the old bounds followed it.
            TimeZone.setDefault(TimeZone.getTimeZone("Pacific/Kiritimati"));   // UTC+14
            dsl = connect();
            assertThat(dsl.fetchSingle("select current_setting('TimeZone')").get(0, String.class)).isEqualTo("Pacific/Kiritimati");
            new CallbackPartitions(dsl, JAN_2091, 1, DDL_TIMEOUT, scheduler, Duration.ofMillis(50)).ensureOnce();
        } finally {
            TimeZone.setDefault(original);
        }

        assertThat(partitionOf(dsl, "2090-12-31T23:59:59Z")).isEqualTo("callback_default");
        assertThat(partitionOf(dsl, "2091-01-01T00:00:00Z")).isEqualTo("callback_p209101");
        assertThat(partitionOf(dsl, "2091-01-31T23:59:59Z")).isEqualTo("callback_p209101");
        assertThat(partitionOf(dsl, "2091-02-01T00:00:00Z")).isEqualTo("callback_p209102");
        assertThat(partitionOf(dsl, "2091-02-28T23:59:59Z")).isEqualTo("callback_p209102");
        assertThat(partitionOf(dsl, "2091-03-01T00:00:00Z")).isEqualTo("callback_default");
    }

    @Test
    void a_month_next_to_one_made_in_another_zone_meets_it_edge_to_edge() {
        DSLContext dsl = connect();
        // As the old code made March in New York (UTC-5, then UTC-4 from 11 March).
        dsl.execute("create table callback_p209103 partition of callback"
                + " for values from ('2091-03-01 00:00-05') to ('2091-04-01 00:00-04')");

        new CallbackPartitions(dsl, Clock.fixed(Instant.parse("2091-02-10T00:00:00Z"), ZoneOffset.UTC), 2, DDL_TIMEOUT,
                scheduler, Duration.ofMillis(50)).ensureOnce();

        assertThat(partitionOf(dsl, "2091-02-01T00:00:00Z")).isEqualTo("callback_p209102");
        assertThat(partitionOf(dsl, "2091-03-01T04:59:59Z")).as("no gap before March").isEqualTo("callback_p209102");
        assertThat(partitionOf(dsl, "2091-03-01T05:00:00Z")).isEqualTo("callback_p209103");
        assertThat(partitionOf(dsl, "2091-04-01T04:00:00Z")).as("no gap after March").isEqualTo("callback_p209104");
        assertThat(partitionOf(dsl, "2091-04-30T23:59:59Z")).isEqualTo("callback_p209104");
        assertThat(partitionOf(dsl, "2091-05-01T00:00:00Z")).isEqualTo("callback_default");
    }

    @Test
    void behind_an_open_report_the_ddl_gives_up_quickly_inserts_go_on_and_a_retry_creates_the_month() throws Exception {
        DSLContext dsl = connect();
        CallbackPartitions partitions = new CallbackPartitions(dsl, JAN_2091, 0, DDL_TIMEOUT, scheduler, Duration.ofMillis(200));

        try (Connection report = DriverManager.getConnection(url, "postgres", "postgres");
             Connection writer = DriverManager.getConnection(url, "postgres", "postgres")) {
            // A report's open transaction that has read the callback table holds ACCESS SHARE on it.
            report.setAutoCommit(false);
            try (Statement s = report.createStatement()) {
                s.executeQuery("select count(*) from callback").close();
            }

            long started = System.nanoTime();
            Throwable failed = catchThrowable(partitions::ensureOnce);
            assertThat(DatabaseErrors.isTimeout(failed)).as(String.valueOf(failed)).isTrue();
            assertThat(millisSince(started)).isLessThan(2_000);

            // While a retry is queued and while it waits for the lock, a callback insert (under
            // the callback path's lock timeout of 2 s) still goes through: the DDL gives up first.
            CompletableFuture<Integer> retried = partitions.ensure();
            awaitDdlWaiting(dsl);
            try (Statement s = writer.createStatement()) {
                s.execute("set lock_timeout = 2000");
                long insertStarted = System.nanoTime();
                s.execute(insertCallback("now()"));
                assertThat(millisSince(insertStarted)).isLessThan(2_000);
            }
            report.rollback();   // the report ends

            assertThat(retried.get(30, TimeUnit.SECONDS)).as("attempts").isGreaterThanOrEqualTo(2);
        }
        assertThat(partitionOf(dsl, "2091-01-21T00:00:00Z")).isEqualTo("callback_p209101");
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** The partition a callback received at that instant is stored in. */
    private static String partitionOf(DSLContext dsl, String receivedAt) {
        return dsl.fetchSingle(insertCallback("'" + Instant.parse(receivedAt) + "'::timestamptz")
                + " returning tableoid::regclass::text").get(0, String.class);
    }

    /** {@code receivedAt}: an SQL expression. */
    private static String insertCallback(String receivedAt) {
        return "insert into callback (received_at, route, body, body_sha256, signature_key, signature_variant, outcome)"
                + " values (" + receivedAt + ", 'transaction',"
                + " '\\x7b7d', '\\x00', 'k', 'raw', 'accepted')";
    }

    /** Until a session of this database waits for a lock to create a partition. */
    private static void awaitDdlWaiting(DSLContext dsl) throws InterruptedException, SQLException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (dsl.fetchSingle("select count(*) from pg_stat_activity where datname = current_database()"
                + " and wait_event_type = 'Lock' and query like '%ensure_callback_partitions%'").get(0, Long.class) == 0) {
            assertThat(System.nanoTime()).as("the DDL waits for its lock").isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }
}
