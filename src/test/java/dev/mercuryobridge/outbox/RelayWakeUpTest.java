package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Without the outbox trigger (V8), a relay whose poll interval is ten minutes still publishes
 * within seconds of a commit: woken in-process by a writer of its own JVM, or by a NOTIFY (from
 * another instance's {@link OutboxNotifier}, or any session) that its {@link RelayListener} reads,
 * also after the listener lost its session. The relay itself never polls faster than its interval.
 */
class RelayWakeUpTest {
    private static final OutboxRelay.Settings TEN_MINUTE_POLL = new OutboxRelay.Settings(100, 4, Duration.ofMinutes(10),
            RelayFixture.SHORT, Duration.ofSeconds(5), Duration.ofMinutes(30));
    private static final Duration PROMPTLY = Duration.ofSeconds(5);

    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void a_relay_of_the_same_instance_is_woken_in_process() throws Exception {
        OutboxRelay relay = f.relay("in-process", TEN_MINUTE_POLL, OutboxRelay.Hooks.NONE).start();
        // The first publish shows the relay publishing; after it, the relay waits for the next signal.
        appendSignalAndAwait(f, relay::wake, "first");
        appendSignalAndAwait(f, relay::wake, "second");
        appendSignalAndAwait(f, relay::wake, "third");
        assertThat(f.sends).hasSize(3);
    }

    @Test
    void a_relay_of_another_instance_is_woken_by_the_notifiers_notify() throws Exception {
        // The writing instance: no relay of its own here, only its notifier.
        try (OutboxNotifier notifier = new OutboxNotifier(f.config, () -> {}, () -> false).start()) {
            f.relay("other-instance", TEN_MINUTE_POLL, OutboxRelay.Hooks.NONE).start();
            appendSignalAndAwait(f, notifier, "first");
            appendSignalAndAwait(f, notifier, "second");
            appendSignalAndAwait(f, notifier, "third");
            assertThat(f.sends).hasSize(3);
        }
    }

    @Test
    void a_relay_is_woken_by_a_notify_from_any_session() throws Exception {
        f.relay("any-session", TEN_MINUTE_POLL, OutboxRelay.Hooks.NONE).start();
        appendSignalAndAwait(f, f::notifyRelays, "first");
        appendSignalAndAwait(f, f::notifyRelays, "second");
        appendSignalAndAwait(f, f::notifyRelays, "third");
        assertThat(f.sends).hasSize(3);
    }

    @Test
    void a_relay_whose_listener_lost_its_session_is_woken_by_notifies_once_it_listens_again() throws Exception {
        try (LogCapture log = LogCapture.of(RelayListener.class)) {
            OutboxRelay relay = f.relay("relisten", TEN_MINUTE_POLL, OutboxRelay.Hooks.NONE).start();
            appendSignalAndAwait(f, f::notifyRelays, "before");
            int lost = f.listenerSession();
            assertThat(lost).isNotZero();
            f.terminate(lost);
            RelayFixture.await(() -> f.listenerSession() != 0 && f.listenerSession() != lost, PROMPTLY,
                    "the listener listens on a new session");
            // Listening again, it wakes the relay once (a NOTIFY may have gone by): that can publish
            // one row at most. The second is published only if NOTIFYs wake the relay again.
            appendSignalAndAwait(f, f::notifyRelays, "after");
            appendSignalAndAwait(f, f::notifyRelays, "after-again");
            assertThat(f.sends).hasSize(3);
            assertThat(log.lines()).filteredOn(l -> l.startsWith("outbox relay listener: no NOTIFYs")).hasSize(1);
            assertThat(log.lines()).containsOnlyOnce("outbox relay listener: listening again");

            relay.close();
            RelayFixture.await(() -> f.listenerSessions() == 0 && f.relaySessions() == 0, PROMPTLY,
                    "the relay's sessions, its listener's among them, are closed");
        }
    }

    @Test
    void signals_during_a_notify_collapse_and_none_is_lost() throws Exception {
        try (OutboxNotifier notifier = new OutboxNotifier(f.config, () -> {}, () -> false).start()) {
            f.relay("burst", TEN_MINUTE_POLL, OutboxRelay.Hooks.NONE).start();
            appendSignalAndAwait(f, notifier, "warm");
            // Many writers' commits at once: each signals after its own commit; the last rows
            // still wake the relay (a signal that arrives while a NOTIFY runs causes one more).
            List<Thread> writers = new java.util.ArrayList<>();
            for (int w = 0; w < 8; w++) {
                String prefix = "burst" + w + "-";
                writers.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 5; i++) {
                        f.append(prefix + i + "-", 1, 1);
                        notifier.committed();
                    }
                }));
            }
            for (Thread t : writers) {
                t.join();
            }
            RelayFixture.await(() -> f.unpublished() == 0, PROMPTLY, "every burst row is published");
            assertThat(f.sends).hasSize(41);
        }
    }

    private static void appendSignalAndAwait(RelayFixture f, OutboxSignal signal, String key) {
        f.append(key, 1, 1);
        signal.committed();
        long start = System.nanoTime();
        RelayFixture.await(() -> f.unpublished() == 0, PROMPTLY, "the " + key + " row is published");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(PROMPTLY);
    }
}
