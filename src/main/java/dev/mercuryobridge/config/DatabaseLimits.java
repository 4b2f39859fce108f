package dev.mercuryobridge.config;

import java.time.Duration;

/**
 * How long database work may wait and run, and the second connection pool. The callback path
 * gets tight limits of its own (a stuck lock answers 503 and Mercuryo retries); reports and the
 * reconciler use their own pool with a longer statement limit, so they can never take the
 * callbacks' connections; creating a monthly partition gives up quickly rather than stall inserts.
 */
public record DatabaseLimits(
        Duration lockTimeout,
        Duration statementTimeout,
        int reportsPoolSize,
        Duration reportsStatementTimeout,
        int partitionsAhead,
        Duration partitionDdlTimeout) {

    private static final Duration MAX = Duration.ofDays(1);

    static DatabaseLimits read(Settings r) {
        DatabaseLimits limits = new DatabaseLimits(
                r.duration("DATABASE_LOCK_TIMEOUT", Duration.ofSeconds(2)),
                r.duration("DATABASE_STATEMENT_TIMEOUT", Duration.ofSeconds(5)),
                r.integer("DATABASE_REPORTS_POOL_SIZE", 5, 1, 200),
                r.duration("DATABASE_REPORTS_STATEMENT_TIMEOUT", Duration.ofMinutes(5)),
                r.integer("CALLBACK_PARTITIONS_AHEAD", 3, 1, 24),
                r.duration("CALLBACK_PARTITION_DDL_TIMEOUT", Duration.ofMillis(500)));
        checkRange(r, "DATABASE_LOCK_TIMEOUT", limits.lockTimeout);
        checkRange(r, "DATABASE_STATEMENT_TIMEOUT", limits.statementTimeout);
        checkRange(r, "DATABASE_REPORTS_STATEMENT_TIMEOUT", limits.reportsStatementTimeout);
        checkRange(r, "CALLBACK_PARTITION_DDL_TIMEOUT", limits.partitionDdlTimeout);
        if (limits.partitionDdlTimeout.compareTo(limits.lockTimeout) >= 0) {
            // While the DDL waits for its lock, every insert into callback queues behind it.
            r.problems.add("CALLBACK_PARTITION_DDL_TIMEOUT: must be less than DATABASE_LOCK_TIMEOUT (callbacks wait"
                    + " behind a partition being created; got " + limits.partitionDdlTimeout + " and " + limits.lockTimeout + ")");
        }
        return limits;
    }

    /** PostgreSQL counts these in whole milliseconds, and 0 would mean no limit at all. */
    private static void checkRange(Settings r, String name, Duration d) {
        if (d.toMillis() < 1 || d.compareTo(MAX) > 0) {
            r.problems.add(name + ": must be between PT0.001S and PT24H (got " + d + ")");
        }
    }
}
