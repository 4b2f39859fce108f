package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A relay's {@link RelayListener} losing its session costs latency, never a message: it opens a
 * new one with backoff, says so once per outage, and meanwhile the relay reads at its poll
 * interval. Outages here: its backend terminated while the database lets no new session in.
 */
class RelayListenerTest {
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void a_listener_that_cannot_reconnect_retries_logs_once_and_wakes_the_relay_when_it_listens_again() throws Exception {
        try (LogCapture log = LogCapture.of(RelayListener.class)) {
            try (RelayListener listener = new RelayListener(f.config.databaseUrl(), f.config.databaseUser(),
                    f.config.databasePassword())) {
                listener.start();
                // Once it listens, it wakes the relay: a NOTIFY may have gone by before.
                assertWoken(listener.wakeups(), "once it listens");
                assertWoken(listener.notifications(), "once it listens");
                int lost = f.listenerSession();
                assertThat(lost).isNotZero();
                f.notifyRelays();
                assertWoken(listener.notifications(), "by a NOTIFY");
                assertWoken(listener.wakeups(), "by a NOTIFY");

                f.allowConnections(false);
                try {
                    f.terminate(lost);
                    RelayFixture.await(() -> listener.failedConnects() >= 3, PROMPTLY, "the listener tried again three times");
                } finally {
                    f.allowConnections(true);
                }
                assertThat(log.lines()).filteredOn(l -> l.startsWith("outbox relay listener: no NOTIFYs")).hasSize(1);
                assertWoken(listener.wakeups(), "once it listens again");
                assertWoken(listener.notifications(), "once it listens again");
                assertThat(f.listenerSession()).isNotZero().isNotEqualTo(lost);
                f.notifyRelays();
                assertWoken(listener.notifications(), "by a NOTIFY after the outage");
                assertThat(log.lines()).filteredOn(l -> l.startsWith("outbox relay listener:"))
                        .hasSize(2).last().isEqualTo("outbox relay listener: listening again");
            }
            RelayFixture.await(() -> f.listenerSessions() == 0, PROMPTLY, "the closed listener's session is gone");
        }
    }

    @Test
    void while_its_listener_is_down_a_relay_still_reads_at_its_poll_interval() throws Exception {
        // Polls every 100 ms.
        OutboxRelay relay = f.relay("poll", RelayFixture.settings(100, RelayFixture.SHORT, Duration.ofSeconds(1)),
                OutboxRelay.Hooks.NONE).start();
        f.append("first", 1, 1);
        relay.wake();
        RelayFixture.await(() -> f.sends.size() == 1, PROMPTLY, "the first row is sent");
        RelayFixture.await(() -> f.listenerSession() != 0, PROMPTLY, "the listener listens");
        f.allowConnections(false);
        try {
            f.terminate(f.listenerSession());
            // The NOTIFY reaches no listener; neither the relay's session nor its marker's needs a new one.
            f.append("outage", 1, 1);
            f.notifyRelays();
            RelayFixture.await(() -> f.sends.size() == 2, PROMPTLY, "the row committed during the outage is sent");
            assertThat(f.listenerSessions()).isZero();
        } finally {
            f.allowConnections(true);
        }
        RelayFixture.await(() -> f.unpublished() == 0, PROMPTLY, "both rows are marked published");
    }

    private static void assertWoken(Semaphore wake, String when) throws InterruptedException {
        assertThat(wake.tryAcquire(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).as("woken " + when).isTrue();
        wake.drainPermits();
    }
}
