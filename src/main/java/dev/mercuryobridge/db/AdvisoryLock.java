package dev.mercuryobridge.db;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * A PostgreSQL session-level advisory lock: one instance at a time does the work it guards (the
 * outbox relay, the reconciler). The lock lives as long as the session that took it, so a
 * crashed instance, or a session PostgreSQL ended, lets another take over.
 */
public final class AdvisoryLock {
    private static final Logger log = LoggerFactory.getLogger(AdvisoryLock.class);

    private final long key;

    public AdvisoryLock(long key) {
        this.key = key;
    }

    long key() {
        return key;
    }

    /** True when this session holds the lock (taken now, or held from an earlier call). */
    public boolean tryLock(Connection session) throws SQLException {
        try (PreparedStatement s = session.prepareStatement("select pg_try_advisory_lock(?)")) {
            s.setLong(1, key);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /**
     * Releases the lock if the session still answers. A failure is harmless: ending the session
     * (closing the connection) releases it anyway, which is what callers do next.
     */
    public void unlock(Connection session) {
        try (PreparedStatement s = session.prepareStatement("select pg_advisory_unlock(?)")) {
            s.setLong(1, key);
            s.execute();
        } catch (SQLException e) {
            log.debug("advisory unlock of {}: {}", key, e.getMessage());
        }
    }
}
