package dev.mercuryobridge.ingest;

import dev.mercuryobridge.http.ApiException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Group commit in front of {@link IngestService}: verified, parsed callbacks wait in a bounded
 * queue; writer threads take what is waiting (up to a batch size, or what arrives within a short
 * linger), store the batch in one database transaction and then complete each request.
 *
 * <p>The queue is sharded by transaction id (Spend Card events by event id), each shard with one
 * writer, so all reports of one transaction go through the same writer in arrival order and two
 * writers never wait on each other's state rows. A full shard refuses at once (503 with
 * {@code Retry-After}): memory stays bounded and Mercuryo retries.
 */
public final class IngestQueue implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IngestQueue.class);

    /** One verified callback waiting for its batch; {@code result} completes after the commit. */
    record Pending(CallbackInserts.Item item, CompletableFuture<Outcome> result) {}

    /** How the queue batches; validated by {@code Config}. */
    public record Settings(int capacity, int batchSize, Duration linger, int writers) {
        public Settings {
            if (capacity < writers || batchSize < 1 || writers < 1 || linger.isNegative()) {
                throw new IllegalArgumentException("invalid ingest queue settings " + this);
            }
        }
    }

    private final IngestService ingest;
    private final Settings settings;
    private final List<BlockingQueue<Pending>> shards = new ArrayList<>();
    private final List<Thread> writers = new ArrayList<>();
    private volatile boolean closing;

    public IngestQueue(IngestService ingest, Settings settings, MeterRegistry registry) {
        this.ingest = ingest;
        this.settings = settings;
        int perShard = Math.ceilDiv(settings.capacity(), settings.writers());
        for (int i = 0; i < settings.writers(); i++) {
            BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(perShard);
            shards.add(queue);
            writers.add(Thread.ofPlatform().name("ingest-writer-" + i).daemon(true).unstarted(() -> write(queue)));
        }
        Gauge.builder("ingest.queue.depth", shards, s -> s.stream().mapToInt(BlockingQueue::size).sum())
                .description("verified callbacks waiting for their batch").register(registry);
    }

    public IngestQueue start() {
        writers.forEach(Thread::start);
        return this;
    }

    /**
     * Parses a verified body (once, in the caller's thread) and queues it; the future completes
     * with its outcome after the commit, or exceptionally if it could not be stored.
     *
     * @throws ApiException 503 when the queue is full or shutting down
     */
    public CompletableFuture<Outcome> submit(Callback.Route route, byte[] body, SignatureVerifier.Match match) {
        IngestService.Parsed parsed = IngestService.parse(route, body);
        Pending pending = new Pending(new CallbackInserts.Item(route, body, match, parsed), new CompletableFuture<>());
        if (closing || !shards.get(shardOf(parsed)).offer(pending)) {
            throw new ApiException(503, "busy", "too many callbacks are waiting to be stored; nothing was stored, retry later");
        }
        return pending.result();
    }

    private int shardOf(IngestService.Parsed parsed) {
        Object key = switch (parsed.callback()) {
            case Callback.Transaction t -> t.id();
            case Callback.SpendCardEvent e -> e.eventId();
            case null -> Thread.currentThread().threadId();
        };
        return Math.floorMod(key.hashCode(), shards.size());
    }

    private void write(BlockingQueue<Pending> queue) {
        List<Pending> batch = new ArrayList<>(settings.batchSize());
        while (true) {
            try {
                Pending first = queue.poll(50, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closing && queue.isEmpty()) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, settings.batchSize() - batch.size());
                long lingerNanos = settings.linger().toNanos();
                if (lingerNanos > 0) {
                    long until = System.nanoTime() + lingerNanos;
                    long left;
                    while (batch.size() < settings.batchSize() && (left = until - System.nanoTime()) > 0) {
                        Pending more = queue.poll(left, TimeUnit.NANOSECONDS);
                        if (more == null) {
                            break;
                        }
                        batch.add(more);
                        queue.drainTo(batch, settings.batchSize() - batch.size());
                    }
                }
                ingest.storeBatch(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failAll(batch, queue, new IllegalStateException("the service is stopping"));
                return;
            } catch (RuntimeException | Error e) {
                // storeBatch completes every item itself; this is a bug, and the requests must
                // still get an answer rather than hang.
                log.error("ingest writer: a batch failed unexpectedly", e);
                batch.forEach(p -> p.result().completeExceptionally(e));
            } finally {
                batch.clear();
            }
        }
    }

    private static void failAll(List<Pending> batch, BlockingQueue<Pending> queue, RuntimeException e) {
        batch.forEach(p -> p.result().completeExceptionally(e));
        for (Pending p; (p = queue.poll()) != null; ) {
            p.result().completeExceptionally(e);
        }
    }

    /**
     * Refuses new callbacks, lets the writers store everything already queued (each waiting
     * request gets its answer), and stops them; waits up to {@code timeout}.
     */
    public void close(Duration timeout) {
        closing = true;
        long until = System.nanoTime() + timeout.toNanos();
        for (Thread t : writers) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                log.warn("{} did not finish its queue in time; interrupting it", t.getName());
                t.interrupt();
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(20));
    }
}
