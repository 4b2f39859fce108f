package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.ManualClock;
import dev.mercuryobridge.http.Health;
import dev.mercuryobridge.testing.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Any {@link Throwable} inside the relay ends its sessions (the lock passes on) and the relay
 * starts again; readiness and the metrics show a relay that stopped or got stuck.
 */
class RelayFailureTest {
    private static final OutboxRelay.Settings SETTINGS =
            RelayFixture.settings(100, KafkaClients.ProducerTimeouts.DEFAULT, Duration.ofSeconds(5));

    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void an_error_inside_the_relay_ends_its_sessions_and_another_relay_takes_over() throws Exception {
        try (KafkaConsumer<String, String> consumer = f.consumer()) {
            List<String> ids = f.append("error", 1, 1);
            OutboxRelay a = f.relay("a", SETTINGS, new OutboxRelay.Hooks() {
                @Override
                public void beforeMark(List<Long> rows) {
                    throw new Error("simulated: an Error inside the relay, after Kafka acknowledged");
                }
            });
            OutboxRelay b = f.relay("b", SETTINGS, OutboxRelay.Hooks.NONE);

            assertThatThrownBy(a::publishOnce).isExactlyInstanceOf(Error.class).hasMessageContaining("simulated");

            // Nothing of a is left in the database: no relay session, nobody holds the lock, and its
            // term is released (every send was answered), so the next publisher need not wait.
            // (A closed session's backend exits a moment after the client closed it.)
            RelayFixture.await(() -> f.lockHolder() == 0 && f.relaySessions() == 0, Duration.ofSeconds(10),
                    "no relay session is left and nobody holds the lock");
            assertThat(f.dsl().fetchSingle("select released and lease_until <= clock_timestamp() from outbox_relay_term")
                    .get(0, Boolean.class)).isTrue();
            assertThat(a.status().failing()).isTrue();
            assertThat(a.status().lastError()).contains("simulated");

            assertThat(b.publishOnce()).containsExactlyElementsOf(ids);
            assertThat(f.term()).isEqualTo(2);
            assertThat(f.unpublished()).isZero();

            // a's send was acknowledged before the Error: the message went out twice, the same bytes.
            var records = TestKafka.readUntil(consumer, r -> r.size() >= 2, Duration.ofSeconds(30));
            assertThat(records).hasSize(2);
            assertThat(records.get(1).value()).isEqualTo(records.get(0).value());
            assertThat(f.sends).extracting(s -> s.relay).containsExactly("a", "b");
        }
    }

    @Test
    void a_relay_on_its_thread_survives_an_error_and_publishes_at_its_next_attempt() throws Exception {
        AtomicInteger marks = new AtomicInteger();
        CountDownLatch secondAttempt = new CountDownLatch(1);
        OutboxRelay.Hooks errorAtFirstMark = new OutboxRelay.Hooks() {
            @Override
            public void beforeMark(List<Long> rows) {
                if (marks.getAndIncrement() == 0) {
                    throw new Error("simulated: an Error inside the relay");
                }
                secondAttempt.countDown();
            }
        };
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        f.append("error", 1, 1);
        OutboxRelay relay = f.relay("a", SETTINGS, errorAtFirstMark, Clock.systemUTC(), registry).start();

        RelayFixture.await(secondAttempt, "the relay marks again after the Error");
        assertThat(relay.alive()).isTrue();
        assertThat(registry.get("outbox.relay.alive").gauge().value()).isEqualTo(1.0);
        relay.close();   // lets the mark in progress finish

        assertThat(f.unpublished()).isZero();
        assertThat(registry.get("outbox.publish.errors").counter().count()).isEqualTo(1.0);
        assertThat(f.term()).as("a new session and a new term after the Error").isEqualTo(2);
    }

    @Test
    void readiness_and_metrics_show_a_relay_that_got_stuck_and_one_that_stopped() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-03-01T10:00:00Z"));
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch unstick = new CountDownLatch(1);
        OutboxRelay.Hooks hangBeforeSend = new OutboxRelay.Hooks() {
            @Override
            public void beforeSend(List<Long> rows) {
                stuck.countDown();
                try {
                    unstick.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        f.append("stuck", 1, 1);
        OutboxRelay relay = f.relay("a", SETTINGS, hangBeforeSend, clock, registry).start();
        Health health = new Health(clock).add("relay", relay::health);
        RelayFixture.await(stuck, "the relay is inside its send step");
        assertThat(health.run().get("relay").status()).isEqualTo(Health.Status.UP);

        // Its thread hangs; a minute later it has not run for longer than the stall limit.
        clock.advance(SETTINGS.stallLimit().plusSeconds(1));
        var results = health.run();
        assertThat(results.get("relay").status()).isEqualTo(Health.Status.DOWN);
        assertThat(results.get("relay").detail()).isEqualTo("the outbox relay has not run for 61 s");
        assertThat(Health.overall(results)).isEqualTo(Health.Status.DOWN);
        assertThat(registry.get("outbox.relay.alive").gauge().value()).isZero();
        assertThat(registry.get("outbox.relay.loop.age").gauge().value()).isEqualTo(61.0);

        unstick.countDown();
        relay.close();
        assertThat(health.run().get("relay").status()).isEqualTo(Health.Status.DOWN);
        assertThat(health.run().get("relay").detail()).contains("has stopped");
        assertThat(registry.get("outbox.relay.alive").gauge().value()).isZero();
        // (A closed session's backend exits a moment after the client closed it.)
        RelayFixture.await(() -> f.lockHolder() == 0 && f.relaySessions() == 0, Duration.ofSeconds(10),
                "no relay session is left and nobody holds the lock");
    }
}
