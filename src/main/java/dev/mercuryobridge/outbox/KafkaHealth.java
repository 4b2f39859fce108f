package dev.mercuryobridge.outbox;

import dev.mercuryobridge.http.Health;
import org.apache.kafka.clients.admin.Admin;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Kafka's part of readiness. Never "down": PostgreSQL is the source of truth and callbacks are
 * still accepted while the broker is away. "degraded" when the broker cannot be reached or the
 * relay is failing to publish, with the backlog in the detail. Cached briefly so that frequent
 * probes do not hammer the broker.
 */
public final class KafkaHealth implements Supplier<Health.Check>, AutoCloseable {
    private static final long CACHE_MILLIS = 2_000;

    private final Admin admin;
    private final OutboxRelay relay;
    private volatile Health.Check cached;
    private volatile long cachedAt;

    public KafkaHealth(Admin admin, OutboxRelay relay) {
        this.admin = admin;
        this.relay = relay;
    }

    @Override
    public synchronized Health.Check get() {
        long now = System.nanoTime() / 1_000_000;   // a cache age: monotonic, not wall-clock time
        if (cached == null || now - cachedAt > CACHE_MILLIS) {
            cached = check();
            cachedAt = now;
        }
        return cached;
    }

    private Health.Check check() {
        String backlog = "outbox backlog " + relay.backlog();
        OutboxRelay.Status status = relay.status();
        try {
            int nodes = admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).size();
            if (status.leader() && status.failing()) {
                // The error text (which may name the broker) is in the relay's log, not in this
                // unauthenticated answer.
                return new Health.Check(Health.Status.DEGRADED, "publishing fails since " + status.lastErrorAt() + "; " + backlog);
            }
            return new Health.Check(Health.Status.UP, nodes + " broker(s) reachable; " + backlog
                    + (status.leader() ? "; this instance publishes" : "; relay on standby"));
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return new Health.Check(Health.Status.DEGRADED, "broker unreachable; callbacks are still accepted and buffered; "
                    + backlog);
        }
    }

    @Override
    public void close() {
        admin.close(java.time.Duration.ofSeconds(2));
    }
}
