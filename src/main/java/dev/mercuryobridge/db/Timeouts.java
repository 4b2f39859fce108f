package dev.mercuryobridge.db;

import org.jooq.DSLContext;
import org.jooq.TransactionContext;
import org.jooq.TransactionListener;

import java.sql.PreparedStatement;
import java.time.Duration;

/**
 * PostgreSQL's {@code lock_timeout} and {@code statement_timeout} for a unit of work: a statement
 * that waits longer for a lock, or runs longer, is cancelled by the server (SQLState 55P03 or
 * 57014, {@link DatabaseErrors#isTimeout}) instead of keeping its connection and its locks.
 */
public record Timeouts(Duration lock, Duration statement) {

    public Timeouts {
        if (lock.isNegative() || lock.isZero() || statement.isNegative() || statement.isZero()) {
            // 0 means "no limit" to PostgreSQL: never what a caller of this class means.
            throw new IllegalArgumentException("timeouts must be positive: " + lock + ", " + statement);
        }
    }

    /**
     * Both set for the current transaction only ({@code SET LOCAL}), in one round trip. Plain
     * JDBC: it runs once per transaction, every ingest batch included, and jOOQ's plain-SQL
     * parsing and result building were a tenth of the ingest writers' CPU samples.
     */
    public void applyLocal(DSLContext tx) {
        tx.connection(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "select set_config('lock_timeout', ?, true), set_config('statement_timeout', ?, true)")) {
                ps.setString(1, millis(lock));
                ps.setString(2, millis(statement));
                ps.execute();
            }
        });
    }

    /**
     * The same database over the same pool, each of whose transactions starts with
     * {@link #applyLocal}: the limits hold for that work only, and the connection goes back to
     * the pool with the session's own settings.
     */
    public DSLContext onEachTransaction(DSLContext dsl) {
        return dsl.configuration().deriveAppending(new TransactionListener() {
            @Override
            public void beginEnd(TransactionContext ctx) {
                applyLocal(ctx.dsl());
            }
        }).dsl();
    }

    /** The statement that makes them a session's defaults (a pool's connection init). */
    String sessionSql() {
        return "select set_config('lock_timeout', '" + millis(lock) + "', false), set_config('statement_timeout', '"
                + millis(statement) + "', false)";
    }

    /** Whole milliseconds, at least 1 (PostgreSQL reads a bare number as milliseconds). */
    private static String millis(Duration d) {
        return Long.toString(Math.max(1, d.toMillis()));
    }
}
