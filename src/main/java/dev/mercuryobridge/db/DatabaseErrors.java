package dev.mercuryobridge.db;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;

/** Classifies database failures by SQLState, walking the cause chain (jOOQ and Hikari wrap them). */
public final class DatabaseErrors {

    private DatabaseErrors() {}

    /** The database cannot be reached or is shutting down: the caller should come back later. */
    public static boolean isUnavailable(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLTransientConnectionException
                    || c instanceof SQLNonTransientConnectionException
                    || c instanceof SQLRecoverableException) {
                return true;
            }
            if (c instanceof SQLException e && e.getSQLState() != null) {
                String s = e.getSQLState();
                // 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now;
                // 53300: too many connections.
                if (s.startsWith("08") || s.startsWith("57P0") || s.equals("53300")) {
                    return true;
                }
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    /**
     * A connection that failed in use (terminated by a restart, reset), as opposed to no
     * connection being available at all (the pool timed out: the database is down).
     */
    static boolean isBrokenConnection(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLTransientConnectionException) {
                return false;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return isUnavailable(t);
    }

    /**
     * The database gave up on a statement on purpose: it waited longer than {@code lock_timeout}
     * for a lock (SQLState 55P03) or ran longer than {@code statement_timeout} (57014, also an
     * operator's cancel), or no answer came before the driver's socket timeout. Running it again
     * at once would only wait again on the same lock or load: the caller answers 503 with
     * {@code Retry-After} instead (Mercuryo retries later), and nothing of it was committed.
     */
    public static boolean isTimeout(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException e && ("55P03".equals(e.getSQLState()) || "57014".equals(e.getSQLState()))) {
                return true;
            }
            if (c instanceof java.net.SocketTimeoutException) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    /** A serialization failure or deadlock: the whole transaction may simply be run again. */
    static boolean isRetryable(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException e && ("40001".equals(e.getSQLState()) || "40P01".equals(e.getSQLState()))) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    /**
     * The database refused the data itself (SQLState class 22, data exception, such as text jsonb
     * cannot hold or a numeric out of range; class 54, a program limit, such as an index row too
     * large): running it again cannot help.
     */
    public static boolean isDataException(Throwable t) {
        String state = sqlState(t);
        return state != null && (state.startsWith("22") || state.startsWith("54"));
    }

    /** The first SQLState in the cause chain, or null. */
    public static String sqlState(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException e && e.getSQLState() != null) {
                return e.getSQLState();
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return null;
    }
}
