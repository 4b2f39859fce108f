package dev.mercuryobridge.outbox;

import dev.mercuryobridge.config.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Wakes the relays after a commit that appended outbox rows: this instance's relay in-process,
 * and the relays of other instances (one of which may be the publisher) with a
 * {@code pg_notify('outbox', '')} from a session of its own, outside any write transaction.
 *
 * <p>Why not a trigger on the outbox: a NOTIFY in the writing transaction takes PostgreSQL's
 * notify-queue lock at commit and holds it through the commit's WAL flush, so concurrent writers'
 * commits were serialized and their fsyncs could not overlap. Here one thread sends the NOTIFYs,
 * coalescing: signals that arrive while one is being sent collapse into one more. Its session
 * commits asynchronously (a NOTIFY lost in a crash costs a poll interval; nothing is written).
 * While this instance's relay is the publisher, no NOTIFY is sent at all.
 *
 * <p>Never in the writers' way: {@link #committed()} does not block, and a failure to notify is
 * logged once per outage and retried at the next signal; relays poll anyway.
 */
public final class OutboxNotifier implements OutboxSignal, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OutboxNotifier.class);
    static final String APPLICATION_NAME = "mercuryo-bridge outbox notifier";
    private static final long RETRY_PAUSE_MILLIS = 1_000;

    private final Config config;
    private final Runnable local;
    private final java.util.function.BooleanSupplier localPublishes;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final Semaphore work = new Semaphore(0);
    private final Thread thread;
    private volatile boolean running = true;
    private Connection connection;
    private boolean failing;

    /**
     * {@code local}: wakes this instance's relay (or does nothing when it has none);
     * {@code localPublishes}: true while that relay is the publisher, when no other relay needs
     * the NOTIFY (a relay that takes over later reads the whole backlog when it starts).
     */
    public OutboxNotifier(Config config, Runnable local, java.util.function.BooleanSupplier localPublishes) {
        this.config = config;
        this.local = local;
        this.localPublishes = localPublishes;
        this.thread = new Thread(this::run, "outbox-notifier");
        this.thread.setDaemon(true);
    }

    public OutboxNotifier start() {
        thread.start();
        return this;
    }

    @Override
    public void committed() {
        local.run();
        if (!localPublishes.getAsBoolean() && pending.compareAndSet(false, true)) {
            work.release();
        }
    }

    private void run() {
        try {
            while (running) {
                if (!work.tryAcquire(1, TimeUnit.SECONDS)) {
                    continue;
                }
                // Cleared before the NOTIFY: a signal from now on is of a commit it may not cover.
                pending.set(false);
                if (!notifyRelays() && running) {
                    Thread.sleep(RETRY_PAUSE_MILLIS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeConnection();
        }
    }

    private boolean notifyRelays() {
        try {
            if (connection == null) {
                connection = connect();
            }
            try (Statement s = connection.createStatement()) {
                s.execute("select pg_notify('outbox', '')");
            }
            if (failing) {
                log.info("outbox notifier: notifying relays again");
                failing = false;
            }
            return true;
        } catch (SQLException | RuntimeException e) {
            if (!failing) {
                log.warn("outbox notifier: could not notify the relays ({}: {}); they still poll, retrying at the next commit",
                        e.getClass().getSimpleName(), e.getMessage());
                failing = true;
            }
            closeConnection();
            return false;
        }
    }

    private Connection connect() throws SQLException {
        return RelaySession.connect(config.databaseUrl(), config.databaseUser(), config.databasePassword(), APPLICATION_NAME,
                "set synchronous_commit = off", "set statement_timeout = '5s'");
    }

    private void closeConnection() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // Gone either way.
            }
            connection = null;
        }
    }

    /** Stops the thread (after the NOTIFY it may be sending) and closes its session. */
    @Override
    public void close() {
        running = false;
        work.release();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
