package dev.mercuryobridge.outbox;

import dev.mercuryobridge.db.AdvisoryLock;
import org.postgresql.PGConnection;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The relay's own PostgreSQL session: it holds the advisory lock that makes one relay the
 * publisher, starts and renews the publishing term, and every read of the outbox runs on it.
 *
 * <p><b>Fencing.</b> The lock is a session lock, never unlocked explicitly: it is held exactly as
 * long as this session lives. So a read that succeeds here proves the lock was held when it ran,
 * and a relay whose session was killed cannot read another batch. Its marks (on the
 * {@link Marker}'s session) are fenced by its term, and what it already handed to its Kafka
 * producer by the term's lease (see {@link #tryStartTerm}): a new publisher does not send until
 * the previous term is released or its lease has run out.
 *
 * <p>Not thread-safe: only the relay's thread uses it.
 */
final class RelaySession implements AutoCloseable {
    /** Advisory lock key: "mercuryo-bridge outbox relay". */
    static final long LOCK_KEY = 0x6d72627276_6c6179L;
    private static final AdvisoryLock LOCK = new AdvisoryLock(LOCK_KEY);
    static final String APPLICATION_NAME = "mercuryo-bridge outbox relay";

    // The next unpublished rows (ids in outbox_pending) after the last row already sent, in id
    // order, and with them, in the same snapshot:
    // - when a transaction that was running at the previous read has ended since (the watched ids,
    //   top-level transaction ids), the unpublished rows up to the last row sent: if there are
    //   more than the relay has in flight, that transaction committed rows below rows already
    //   read ("late rows": ids are handed out before commit), and those must go out before
    //   anything newer of the same key. Only then, and only over rows in flight: never the backlog;
    // - whether the first row of the mark running on the marker's session is already marked
    //   (then all of that mark is);
    // - the transactions running now, to watch at the next read.
    // Shaped so that the only plan is a walk of outbox_pending's key and one lookup per row in the
    // outbox (a merge join would walk the outbox's whole history from its first row).
    private static final String READ = """
            select o.id, o.topic, o.message_key, o.event_id, o.payload, (date_part('epoch', o.created_at) * 1000)::bigint,
                   case when exists (select 1 from unnest(?::bigint[]) w(x)
                                      where pg_visible_in_snapshot(x::text::xid8, pg_current_snapshot()))
                        then (select count(*) from outbox_pending u where u.id <= ?) else -1 end,
                   ?::bigint > 0 and not exists (select 1 from outbox_pending m where m.id = ?),
                   (select array_agg(x::text::bigint) from pg_snapshot_xip(pg_current_snapshot()) x)
              from (select id from outbox_pending where id > ? order by id limit ?) p
              join lateral (select * from outbox where id = p.id) o on true
             order by p.id""";
    private static final String TERM = """
            select term, lease_until <= clock_timestamp(),
                   greatest(0, ceil(extract(epoch from lease_until - clock_timestamp()) * 1000))::bigint
              from outbox_relay_term""";
    private static final String START_TERM = """
            update outbox_relay_term
               set term = term + 1, holder = ?, released = false,
                   lease_until = clock_timestamp() + ? * interval '1 millisecond'
             where term = ? and lease_until <= clock_timestamp()
            returning term""";
    private static final String RENEW = """
            update outbox_relay_term set lease_until = clock_timestamp() + ? * interval '1 millisecond'
             where term = ? and not released""";
    // Shortens the lease to what may still be on its way; wakes a relay waiting to take over (its
    // RelayListener LISTENs on the same channel as for new rows).
    private static final String RELEASE = """
            with released as (
                update outbox_relay_term
                   set released = true, lease_until = least(lease_until, clock_timestamp() + ? * interval '1 millisecond')
                 where term = ? and not released
                returning 1)
            select pg_notify('outbox', '') from released""";

    private final Connection connection;
    private final PreparedStatement read;
    private final int pid;

    private RelaySession(Connection connection) throws SQLException {
        this.connection = connection;
        try (Statement s = connection.createStatement()) {
            // The planner's statistics of a backlog built up during an outage are stale: it then
            // chose to sort the whole backlog for every batch (600 ms a batch at 100,000 rows)
            // instead of walking the unpublished-rows index in id order. This session runs only
            // the statements of this class, none of which needs a sort.
            s.execute("set enable_sort = off");
            try (ResultSet rs = s.executeQuery("select pg_backend_pid()")) {
                rs.next();
                this.pid = rs.getInt(1);
            }
        }
        this.read = connection.prepareStatement(READ);
    }

    static RelaySession open(String url, String user, String password) throws SQLException {
        Connection c = connect(url, user, password);
        try {
            return new RelaySession(c);
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** A session of the relay's (the lock's or the marker's), named for operators. */
    static Connection connect(String url, String user, String password) throws SQLException {
        return connect(url, user, password, APPLICATION_NAME, "set jit = off", "set statement_timeout = '15s'");
    }

    /**
     * A session of the outbox's own (not from the pool: the relay's, its listener's, the
     * notifier's), named for operators, with its settings run first.
     */
    static Connection connect(String url, String user, String password, String applicationName, String... settings)
            throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("connectTimeout", "5");
        // A database that stops answering ends the session (and the relay restarts) instead of
        // hanging it; longer than any statement (statement_timeout) or notification wait.
        p.setProperty("socketTimeout", "30");
        Connection c = DriverManager.getConnection(url, p);
        try (Statement s = c.createStatement()) {
            for (String setting : settings) {
                s.execute(setting);
            }
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }

    int pid() {
        return pid;
    }

    /** True when this session holds the relay lock (now or from an earlier call). */
    boolean tryLock() throws SQLException {
        return LOCK.tryLock(connection);
    }

    /**
     * Starts the next publishing term once the previous one's lease is over (a release shortens it
     * to what may still be on its way). Returns the new term, or {@code -n}: wait up to n ms.
     * Call only while holding the lock, so that no other relay starts a term at the same time.
     */
    long tryStartTerm(String holder, Duration lease) throws SQLException {
        long current;
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(TERM)) {
            rs.next();
            current = rs.getLong(1);
            if (!rs.getBoolean(2)) {
                return -Math.max(1, rs.getLong(3));
            }
        }
        try (PreparedStatement s = connection.prepareStatement(START_TERM)) {
            s.setString(1, holder);
            s.setLong(2, lease.toMillis());
            s.setLong(3, current);
            try (ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("the relay term changed while this session held the lock");
                }
                return rs.getLong(1);
            }
        }
    }

    /** Moves the term's lease forward; fails when the term is no longer this relay's. */
    void renew(long term, Duration lease) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(RENEW)) {
            s.setLong(1, lease.toMillis());
            s.setLong(2, term);
            if (s.executeUpdate() != 1) {
                throw new SQLException("relay term " + term + " is no longer this relay's");
            }
        }
    }

    /**
     * Ends a term whose every message was answered; {@code settleMillis}: how long one that failed
     * may still reach the broker.
     */
    void release(long term, long settleMillis) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(RELEASE)) {
            s.setLong(1, settleMillis);
            s.setLong(2, term);
            s.executeQuery().close();
        }
    }

    /**
     * The next unpublished rows after {@code afterId}, in id order. {@code watched}: transactions
     * running at the previous read; {@code probeId}: the first row of the mark running on the
     * marker's session, or 0.
     */
    Batch read(long afterId, int limit, long[] watched, long probeId) throws SQLException {
        read.setArray(1, connection.unwrap(PGConnection.class).createArrayOf("int8", watched));
        read.setLong(2, afterId);
        read.setLong(3, probeId);
        read.setLong(4, probeId);
        read.setLong(5, afterId);
        read.setInt(6, limit);
        try (ResultSet rs = read.executeQuery()) {
            return Batch.from(rs, limit);
        }
    }

    /**
     * Waits for a permit of {@code wake} (then takes all of them) or the timeout, whichever comes
     * first, then checks that the session still answers: a lost session ends the pass. The
     * permits come from the relay's {@link RelayListener}; nothing is read while waiting.
     */
    void awaitWake(Duration timeout, Semaphore wake) throws SQLException {
        try {
            if (wake.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                wake.drainPermits();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!connection.isValid(1)) {
            throw new SQLException("the relay's database session was lost", "08006");
        }
    }

    /**
     * Ends the session: the advisory lock passes to another relay. Unlocks first, when the session
     * still answers: its backend ends only a moment after the connection is closed.
     */
    @Override
    public void close() {
        try {
            if (!connection.isClosed()) {
                connection.setNetworkTimeout(Runnable::run, 2_000);
                LOCK.unlock(connection);
            }
        } catch (SQLException e) {
            // The session is gone, and its lock with it.
        }
        try {
            connection.close();
        } catch (SQLException e) {
            // The session is gone either way.
        }
    }
}
