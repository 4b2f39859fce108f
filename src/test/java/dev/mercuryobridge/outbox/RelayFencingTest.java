package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two relays on one database never publish at once, even when the publisher's session is killed
 * in the middle of a backlog while it still has messages to send: the next publisher waits until
 * the old term is over (released, or its lease run out), and an old term's marks change nothing.
 */
class RelayFencingTest {
    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void a_publisher_whose_session_is_killed_mid_backlog_never_publishes_beside_its_successor() throws Exception {
        OutboxRelay.Settings settings = RelayFixture.settings(250, KafkaClients.ProducerTimeouts.DEFAULT, Duration.ofSeconds(5));
        try (KafkaConsumer<String, String> consumer = f.consumer()) {
            List<String> ids = f.append("kill", 40, 100);   // 4,000 messages, 100 per key
            CountDownLatch aPublishes = new CountDownLatch(1);
            AtomicInteger batches = new AtomicInteger();
            AtomicLong killedAt = new AtomicLong();
            OutboxRelay a = f.relay("a", settings, new OutboxRelay.Hooks() {
                @Override
                public void beforeSend(List<Long> rows) {
                    aPublishes.countDown();
                    if (batches.incrementAndGet() != 3) {
                        return;
                    }
                    // The third batch was read on a's session; the session dies before it is sent,
                    // and a sends it only once b holds the lock.
                    int own = f.lockHolder();
                    f.terminate(own);
                    killedAt.set(System.nanoTime());
                    RelayFixture.await(() -> f.lockHolder() != 0 && f.lockHolder() != own, Duration.ofSeconds(30),
                            "the other relay holds the lock");
                }
            });
            OutboxRelay b = f.relay("b", settings, OutboxRelay.Hooks.NONE);
            a.start();
            RelayFixture.await(aPublishes, "a publishes");
            b.start();

            var records = TestKafka.readUntil(consumer, r -> KafkaOutageTest.distinctIds(r, "kill").size() >= ids.size(),
                    Duration.ofSeconds(90));
            // a came back from losing its session as a standby, and says so.
            RelayFixture.await(() -> a.health().equals(dev.mercuryobridge.http.Health.Check.up("standing by")),
                    Duration.ofSeconds(30), "a stands by");
            assertThat(b.health()).isEqualTo(dev.mercuryobridge.http.Health.Check.up("publishing"));
            a.close();
            b.close();

            // Every message arrived; a message sent twice is the same bytes; per key in order.
            var byId = KafkaOutageTest.distinctIds(records, "kill");
            assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            for (var r : records) {
                assertThat(r.value()).isEqualTo(byId.get(dev.mercuryobridge.json.Json.MAPPER.readTree(r.value()).get("id").asText()));
            }
            for (int k = 0; k < 40; k++) {
                assertThat(KafkaOutageTest.firstSequences(records, "kill" + k)).containsExactlyElementsOf(
                        IntStream.rangeClosed(1, 100).boxed().toList());
            }
            assertThat(f.unpublished()).isZero();

            // a did send after its session was gone (the batch it had read), and b started sending
            // only after every one of a's sends had been answered.
            var aSends = f.sends.stream().filter(s -> s.relay.equals("a")).toList();
            var bSends = f.sends.stream().filter(s -> s.relay.equals("b")).toList();
            assertThat(aSends).anyMatch(s -> s.sentNanos > killedAt.get());
            assertThat(bSends).isNotEmpty();
            assertThat(aSends).allMatch(s -> s.answeredNanos != 0);
            long aLastAnswer = aSends.stream().mapToLong(s -> s.answeredNanos).max().orElseThrow();
            long bFirstSend = bSends.stream().mapToLong(s -> s.sentNanos).min().orElseThrow();
            assertThat(bFirstSend).as("b's first send comes after a's last answer").isGreaterThan(aLastAnswer);
            assertThat(f.term()).isEqualTo(2);
        }
    }

    @Test
    void a_publisher_that_wakes_up_after_its_lease_ran_out_sends_nothing() throws Exception {
        // Short producer time limits: a lease of 3 s of tail plus 1 s of send window.
        OutboxRelay.Settings settings = RelayFixture.settings(100, RelayFixture.SHORT, Duration.ofSeconds(1));
        try (KafkaConsumer<String, String> consumer = f.consumer()) {
            List<String> ids = f.append("wake", 1, 1);
            // a loses its session and freezes (a long GC pause, a stopped VM) between read and send.
            Freeze freeze = new Freeze(false);
            OutboxRelay a = f.relay("a", settings, freeze).start();
            RelayFixture.await(freeze.frozen, "a is frozen with a batch in hand");
            Instant leaseUntil = f.leaseUntil();

            OutboxRelay b = f.relay("b", settings, OutboxRelay.Hooks.NONE);
            assertThat(b.publishOnce()).containsExactlyElementsOf(ids);
            assertThat(f.sends).singleElement().satisfies(s -> {
                assertThat(s.relay).isEqualTo("b");
                assertThat(s.sentAt).as("b sends once a's lease ran out").isAfterOrEqualTo(leaseUntil);
            });

            freeze.thaw.countDown();
            RelayFixture.await(freeze.noticed, "a notices");
            assertThat(a.status().lastError()).contains("send window of term 1 ran out");
            assertThat(f.sends).extracting(s -> s.relay).containsExactly("b");
            assertThat(TestKafka.readUntil(consumer, r -> !r.isEmpty(), Duration.ofSeconds(30))).hasSize(1);
            assertThat(TestKafka.drain(consumer, Duration.ofSeconds(1))).isEmpty();
        }
    }

    @Test
    void a_mark_of_a_term_that_is_over_changes_nothing() throws Exception {
        OutboxRelay.Settings settings = RelayFixture.settings(100, RelayFixture.SHORT, Duration.ofSeconds(1));
        f.append("mark", 1, 1);
        // a's send is acknowledged; then its lock session dies and its marker freezes before marking.
        Freeze freeze = new Freeze(true);
        OutboxRelay a = f.relay("a", settings, freeze).start();
        RelayFixture.await(freeze.frozen, "a's marker is frozen");

        // b takes the lock, starts term 2 once a's lease ran out, reads the row and holds before sending it.
        CountDownLatch bRead = new CountDownLatch(1);
        CountDownLatch bSend = new CountDownLatch(1);
        OutboxRelay b = f.relay("b", settings, new OutboxRelay.Hooks() {
            @Override
            public void beforeSend(List<Long> rows) {
                bRead.countDown();
                awaitQuietly(bSend);
            }
        }).start();
        try {
            RelayFixture.await(bRead, "b read the row in term 2");
            assertThat(f.term()).isEqualTo(2);

            // a's marker wakes up to a term that is not its own: its mark fails and the row stays unpublished.
            freeze.thaw.countDown();
            RelayFixture.await(freeze.noticed, "a notices");
            assertThat(a.status().lastError()).contains("term 1 is over");
            assertThat(f.unpublished()).as("the row a's old term tried to mark").isOne();
        } finally {
            bSend.countDown();
        }
        // b sends the row again (same id) and marks it in its own term.
        RelayFixture.await(() -> f.unpublished() == 0, Duration.ofSeconds(30), "b marks the row");
        assertThat(f.sends).extracting(s -> s.relay).containsExactly("a", "b");
        assertThat(f.term()).isEqualTo(2);
        a.close();
        b.close();
    }

    /**
     * A relay's hooks that kill its lock session at one step (before each send, or before each
     * mark) and then hold that step (a long GC pause, a stopped VM) until thawed; {@code noticed}
     * is counted down when the relay sees a failure.
     */
    private final class Freeze implements OutboxRelay.Hooks {
        final CountDownLatch frozen = new CountDownLatch(1);
        final CountDownLatch thaw = new CountDownLatch(1);
        final CountDownLatch noticed = new CountDownLatch(1);
        private final boolean atMark;

        Freeze(boolean atMark) {
            this.atMark = atMark;
        }

        @Override
        public void beforeSend(List<Long> rows) {
            if (!atMark) {
                killAndHold();
            }
        }

        @Override
        public void beforeMark(List<Long> rows) {
            if (atMark) {
                killAndHold();
            }
        }

        @Override
        public void failed(Throwable cause) {
            noticed.countDown();
        }

        private void killAndHold() {
            f.terminate(f.lockHolder());
            frozen.countDown();
            awaitQuietly(thaw);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
