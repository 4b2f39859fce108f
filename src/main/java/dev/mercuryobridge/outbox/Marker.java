package dev.mercuryobridge.outbox;

import org.postgresql.PGConnection;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Marks acknowledged rows published, on a second session of the relay's and on its own thread,
 * while the relay reads and sends the next batches. Rows handed over together or while a mark runs
 * are marked in one statement, in the order they were handed over.
 *
 * <p>Fenced by the term: a mark changes nothing once a later term has begun (it share-locks the
 * term row, so a new term cannot begin while a mark of the old one is running either).
 *
 * <p>The relay's reads must know which marks they can see (see {@link #beginRead}): while the
 * relay reads, no new mark starts, and the one running, if any, is named.
 */
final class Marker implements AutoCloseable {
    // A row is published once its id is out of outbox_pending: a delete writes only the deleted
    // tuple's header, where an update of the outbox row wrote a new version of all of it (V9).
    // With its own transaction id: the relay's reads need not watch the marker's transactions.
    private static final String MARK = """
            with marked as (
                delete from outbox_pending
                 where id = any(?) and exists (select 1 from outbox_relay_term where term = ? for share)
                returning 1)
            select count(*), pg_current_xact_id()::text::bigint from marked""";
    private static final int RECENT_XIDS = 16;
    /** Rows at most in one mark statement. */
    private static final int MAX_ROWS = 20_000;

    /** The marks a read may see: those committed, and perhaps the one running. */
    record View(long markedRows, long runningFirstId, int runningRows) {}

    private final Connection connection;
    private final PreparedStatement mark;
    private final long term;
    private final OutboxRelay.Hooks hooks;
    private final IntConsumer onMarked;
    private final Semaphore progress;
    private final Thread thread;

    // Guarded by this.
    private final ArrayDeque<long[]> waiting = new ArrayDeque<>();
    private long[] running;
    private long markedRows;
    private final LinkedHashSet<Long> recentXids = new LinkedHashSet<>();
    private boolean reading;
    private boolean closed;
    private Throwable failure;

    private Marker(Connection connection, long term, OutboxRelay.Hooks hooks, IntConsumer onMarked, Semaphore progress)
            throws SQLException {
        this.connection = connection;
        this.mark = connection.prepareStatement(MARK);
        this.term = term;
        this.hooks = hooks;
        this.onMarked = onMarked;
        this.progress = progress;
        this.thread = new Thread(this::run, "outbox-relay-marker");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /**
     * A marker of {@code term}; {@code onMarked} is told each committed mark's row count (on the
     * marker's thread), and {@code progress} is released after each mark and on failure.
     */
    static Marker open(String url, String user, String password, long term, OutboxRelay.Hooks hooks, IntConsumer onMarked,
                       Semaphore progress) throws SQLException {
        // Asynchronous commit: a mark lost in a crash only means its rows are sent again, with the
        // same bytes and ids (at least once, as after any crash between acknowledgement and mark);
        // a mark does not wait for a WAL flush of its own, nor make the writers' commits wait on it.
        Connection c = RelaySession.connect(url, user, password, RelaySession.APPLICATION_NAME,
                "set jit = off", "set statement_timeout = '15s'", "set synchronous_commit = off");
        try {
            return new Marker(c, term, hooks, onMarked, progress);
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Hands over acknowledged rows, in id order after everything handed over before. */
    synchronized void submit(long[] ids) {
        waiting.addLast(ids);
        notifyAll();
    }

    /** Until {@link #endRead}, starts no mark; returns what the read may see. */
    synchronized View beginRead() {
        reading = true;
        return running == null ? new View(markedRows, 0, 0) : new View(markedRows, running[0], running.length);
    }

    synchronized void endRead() {
        reading = false;
        notifyAll();
    }

    /** Whether {@code xid} is one of the marker's latest transactions. */
    synchronized boolean ownTransaction(long xid) {
        return recentXids.contains(xid);
    }

    synchronized long markedRows() {
        return markedRows;
    }

    /** Nothing handed over is left to mark. */
    synchronized boolean idle() {
        return waiting.isEmpty() && running == null;
    }

    synchronized Throwable failure() {
        return failure;
    }

    private void run() {
        while (true) {
            long[] ids;
            synchronized (this) {
                while (!closed && (waiting.isEmpty() || reading || failure != null)) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                ids = take();
                running = ids;
            }
            try {
                if (hooks != OutboxRelay.Hooks.NONE) {
                    hooks.beforeMark(Arrays.stream(ids).boxed().toList());
                }
                mark.setArray(1, connection.unwrap(PGConnection.class).createArrayOf("int8", ids));
                mark.setLong(2, term);
                long n;
                long xid;
                try (ResultSet rs = mark.executeQuery()) {
                    rs.next();
                    n = rs.getLong(1);
                    xid = rs.getLong(2);
                }
                if (n != ids.length) {
                    throw new SQLException("marked " + n + " of " + ids.length + " rows: term " + term + " is over");
                }
                synchronized (this) {
                    markedRows += ids.length;
                    running = null;
                    recentXids.add(xid);
                    if (recentXids.size() > RECENT_XIDS) {
                        recentXids.remove(recentXids.iterator().next());
                    }
                }
                onMarked.accept(ids.length);
            } catch (Throwable t) {
                synchronized (this) {
                    failure = t;
                    running = null;
                }
            }
            progress.release();
        }
    }

    /** The waiting rows, up to {@link #MAX_ROWS} (at least one hand-over), as one array. */
    private long[] take() {
        List<long[]> parts = new ArrayList<>();
        int rows = 0;
        while (!waiting.isEmpty() && (parts.isEmpty() || rows + waiting.peekFirst().length <= MAX_ROWS)) {
            long[] part = waiting.removeFirst();
            parts.add(part);
            rows += part.length;
        }
        long[] ids = new long[rows];
        int at = 0;
        for (long[] part : parts) {
            System.arraycopy(part, 0, ids, at, part.length);
            at += part.length;
        }
        return ids;
    }

    /** Lets the running mark finish, marks nothing more, and ends the session. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(20));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (thread.isAlive()) {
                connection.abort(Runnable::run);
            } else {
                connection.close();
            }
        } catch (SQLException e) {
            // The session is gone either way.
        }
    }
}
