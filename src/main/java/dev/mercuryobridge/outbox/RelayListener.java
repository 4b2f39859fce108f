package dev.mercuryobridge.outbox;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What wakes a waiting relay, so that it never polls faster than its poll interval: rows committed
 * in this JVM ({@link #wake()}) and every {@code NOTIFY} on channel {@code outbox} (rows committed
 * by another instance, see {@link OutboxNotifier}, or a released term), read by a thread of its
 * own on a {@code LISTEN} session of its own. The relay's thread blocks on a semaphore and does not
 * touch a socket while it waits.
 *
 * <p>Two semaphores, because the relay waits for two things: {@link #wakeups()} (anything that may
 * mean new rows: an idle relay reads) and {@link #notifications()} (NOTIFYs only: a relay waiting
 * for the previous term to settle looks at the term again; the writers' wake-ups, one per commit,
 * would only make it ask again and again). Each holds at most about one permit: a waiter takes
 * them all, and a wake-up that comes while the relay is busy makes it look once more.
 *
 * <p><b>Losing the session costs latency, never a message.</b> The relay reads at its poll
 * interval anyway. The thread opens a new session, backing off up to 5 s, and logs once per
 * outage; once it listens again it wakes the relay (a NOTIFY may have gone by meanwhile), as it
 * does when it first listens.
 */
final class RelayListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayListener.class);
    static final String APPLICATION_NAME = "mercuryo-bridge outbox relay listener";
    private static final long FIRST_BACKOFF_MILLIS = 100, MAX_BACKOFF_MILLIS = 5_000;
    /** How long a silent session may go before the listener checks that it still answers. */
    private static final int CHECK_MILLIS = 10_000;

    private final String url, user, password;
    private final Semaphore wakeups = new Semaphore(0), notifications = new Semaphore(0);
    private final Thread thread;
    private final AtomicBoolean started = new AtomicBoolean();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final AtomicInteger failedConnects = new AtomicInteger();
    private volatile boolean running = true;
    private volatile Connection connection;

    RelayListener(String url, String user, String password) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.thread = new Thread(this::run, "outbox-relay-listener");
        this.thread.setDaemon(true);
    }

    /** Starts listening (once; later calls do nothing). */
    void start() {
        if (started.compareAndSet(false, true)) {
            thread.start();
        }
    }

    /** Rows were committed in this JVM. */
    void wake() {
        release(wakeups);
    }

    /** Permits for an idle relay: rows committed here or elsewhere, or a released term. */
    Semaphore wakeups() {
        return wakeups;
    }

    /** Permits for a relay waiting for the previous term to settle: NOTIFYs only. */
    Semaphore notifications() {
        return notifications;
    }

    /** Attempts to open the session that failed so far (for tests). */
    int failedConnects() {
        return failedConnects.get();
    }

    private static void release(Semaphore s) {
        if (s.availablePermits() == 0) {
            s.release();
        }
    }

    private void notified() {
        release(notifications);
        release(wakeups);
    }

    private void run() {
        long backoffMillis = FIRST_BACKOFF_MILLIS;
        boolean failing = false;
        while (running) {
            try (Connection c = RelaySession.connect(url, user, password, APPLICATION_NAME, "listen outbox")) {
                connection = c;
                if (!running) {
                    break;
                }
                if (failing) {
                    log.info("outbox relay listener: listening again");
                    failing = false;
                }
                backoffMillis = FIRST_BACKOFF_MILLIS;
                notified();
                listen(c);
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    break;
                }
                if (!failing) {
                    log.warn("outbox relay listener: no NOTIFYs ({}: {}); the relay reads at its poll interval until it "
                            + "listens again", e.getClass().getSimpleName(), e.getMessage());
                    failing = true;
                }
                if (connection == null) {
                    failedConnects.incrementAndGet();
                }
            } finally {
                connection = null;
            }
            pause(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF_MILLIS);
        }
    }

    /** Until the session fails (or is aborted by {@link #close()}). */
    private void listen(Connection c) throws SQLException {
        PGConnection pg = c.unwrap(PGConnection.class);
        while (running) {
            PGNotification[] got = pg.getNotifications(CHECK_MILLIS);
            if (got != null && got.length > 0) {
                notified();
            } else if (running && !c.isValid(5)) {
                throw new SQLException("the listener's session stopped answering", "08006");
            }
        }
    }

    private void pause(long millis) {
        try {
            closing.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /**
     * Stops the thread: ends its session at once (it may be blocked reading it) and waits for it.
     * Wakes the relay too: it is stopping, and must not wait out its poll interval first.
     */
    @Override
    public void close() {
        running = false;
        closing.countDown();
        notified();
        Connection c = connection;
        if (c != null) {
            try {
                c.abort(Runnable::run);
            } catch (SQLException e) {
                // Closed already.
            }
        }
        if (started.get()) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
