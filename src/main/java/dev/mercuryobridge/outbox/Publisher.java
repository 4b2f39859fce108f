package dev.mercuryobridge.outbox;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

/**
 * One publishing term: batches read in id order on the relay's session, sent on one producer
 * without waiting ({@code batchesInFlight} at a time), handed to the {@link Marker} in order once
 * Kafka acknowledged all of each, and the term's lease kept. Used by the relay's thread only; the
 * producer's and the marker's threads report through {@link Batch}, the marker and
 * {@code progress}.
 *
 * <p><b>The first failed send ends the producer.</b> Its callback closes the producer at once
 * ({@code close(Duration.ZERO)}, on the producer's own thread, before it sends another request):
 * what is queued behind the failed message is never sent, only failed. Otherwise the producer
 * would go on with the next messages of the failed one's partition, and the failed one, sent again
 * by the next term, would reach Kafka after messages that follow it. The term then ends as on any
 * failure, marking only the acknowledged rows before the first one that was not.
 */
final class Publisher {
    private static final Logger log = LoggerFactory.getLogger(Publisher.class);
    private static final List<Header> HEADERS =
            List.of(new RecordHeader("content-type", Messages.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8)));

    private final RelaySession session;
    private final long term;
    private final OutboxRelay.Settings settings;
    private final OutboxRelay.Hooks hooks;
    private final Producer<String, byte[]> producer;
    private final Marker marker;
    private final Semaphore progress;
    private final LongConsumer ackedCreatedAtMillis;
    private final long maxUnmarked;
    /** Sent and not yet handed to the marker: all acknowledged, or some failed. */
    private final ArrayDeque<Batch> inFlight = new ArrayDeque<>();
    /** Event ids handed to the marker and not yet seen marked, when a pass collects them. */
    private final ArrayDeque<String[]> marking = new ArrayDeque<>();
    private long sendDeadline;
    /** Transactions that were running at the previous read of this pass (not the marker's). */
    private long[] watched = new long[0];
    private long sentRows;
    private long collectedRows;
    private boolean failed;
    /** The first failure the producer reported; the producer is closed from then on. */
    private final AtomicReference<Exception> producerFailure = new AtomicReference<>();

    Publisher(RelaySession session, long term, long sendDeadline, OutboxRelay.Settings settings, OutboxRelay.Hooks hooks,
              Producer<String, byte[]> producer, Marker marker, Semaphore progress, LongConsumer ackedCreatedAtMillis) {
        this.session = session;
        this.term = term;
        this.sendDeadline = sendDeadline;
        this.settings = settings;
        this.hooks = hooks;
        this.producer = producer;
        this.marker = marker;
        this.progress = progress;
        this.ackedCreatedAtMillis = ackedCreatedAtMillis;
        // Bounds the rows the read's check counts and the marker's queue.
        this.maxUnmarked = 2L * settings.batchesInFlight() * settings.batchSize();
    }

    /**
     * Publishes what is visible now; returns, with the number of rows marked, when nothing visible
     * is left unsent and everything sent is marked. The marked rows' event ids go to {@code sink}
     * (unless null), in order.
     */
    int pass(List<String> sink, BooleanSupplier running) throws Exception {
        long markedAtStart = marker.markedRows();
        collectedRows = markedAtStart;
        long after = 0;
        watched = new long[0];
        boolean more = true;
        boolean rescan = false;
        while (true) {
            rethrow(marker.failure());
            collect(sink);
            handOver(sink);
            Batch head = inFlight.peekFirst();
            if (head != null && head.failure() != null) {
                failed = true;
                int acknowledged = head.acknowledgedPrefix();
                if (acknowledged > 0) {
                    submit(Arrays.copyOf(head.ids, acknowledged), Arrays.copyOf(head.eventIds, acknowledged), sink);
                }
                while (!marker.idle() && marker.failure() == null) {
                    progress.tryAcquire(settings.poll().toMillis(), TimeUnit.MILLISECONDS);
                }
                collect(sink);
                // The cause, rather than the abort of the head's rows that it brought about.
                Exception cause = producerFailure.get();
                throw cause != null ? cause : head.failure();
            }
            boolean failing = inFlight.stream().anyMatch(b -> b.failure() != null);
            if (more && !failing && running.getAsBoolean() && inFlight.size() < settings.batchesInFlight()
                    && sentRows - marker.markedRows() < maxUnmarked) {
                renewIfDue();
                Batch batch = read(after);
                if (batch == null) {
                    more = false;
                    rescan = true;
                } else if (batch.size() == 0) {
                    more = false;
                } else {
                    send(batch);
                    after = batch.lastId();
                    more = batch.size() == settings.batchSize();
                    continue;
                }
            }
            if (inFlight.isEmpty() && marker.idle()) {
                rethrow(marker.failure());
                collect(sink);
                if (rescan && running.getAsBoolean()) {
                    rescan = false;
                    more = true;
                    after = 0;
                    watched = new long[0];
                    continue;
                }
                return (int) (marker.markedRows() - markedAtStart);
            }
            progress.tryAcquire(settings.poll().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The next batch after {@code after}; null when rows below it were committed after it was read
     * ("late rows": ids are handed out before commit): nothing newer may go out before them.
     */
    private Batch read(long after) throws SQLException {
        Marker.View view = marker.beginRead();
        Batch batch;
        try {
            batch = session.read(after, settings.batchSize(), watched, view.runningFirstId());
        } finally {
            marker.endRead();
        }
        if (batch.size() == 0) {
            return batch;
        }
        long unmarked = sentRows - view.markedRows() - (batch.runningMarkSeen ? view.runningRows() : 0);
        if (batch.unpublishedBefore >= 0 && batch.unpublishedBefore != unmarked) {
            return null;
        }
        // The marker's transactions commit no outbox rows: not watched (a mark of the marker's
        // that ends unnoticed here only costs one count at the next read).
        watched = Arrays.stream(batch.running).filter(x -> !marker.ownTransaction(x)).toArray();
        return batch;
    }

    /** A lease renewed while at least half of its send window is left never runs out mid-batch. */
    private void renewIfDue() throws SQLException {
        if (sendDeadline - System.nanoTime() < settings.sendWindow().toNanos() / 2) {
            long before = System.nanoTime();
            session.renew(term, settings.lease());
            sendDeadline = before + settings.sendWindow().toNanos();
        }
    }

    private void send(Batch batch) {
        if (hooks != OutboxRelay.Hooks.NONE) {
            hooks.beforeSend(batch.idList(batch.size()));
        }
        inFlight.addLast(batch);
        sentRows += batch.size();
        for (int i = 0; i < batch.size(); i++) {
            if (System.nanoTime() - sendDeadline > 0) {
                batch.notSent(i, new IllegalStateException("the send window of term " + term + " ran out"));
                return;
            }
            Exception refused = producerFailure.get() != null ? producerFailure.get() : batch.failure();
            if (refused != null) {
                batch.notSent(i, refused);   // the broker refuses, the producer is closed: queue no more
                return;
            }
            try {
                producer.send(new ProducerRecord<>(batch.topics[i], null, batch.keys[i], batch.payloads[i], HEADERS),
                        batch.answer(i, ackedCreatedAtMillis, progress, this::abort));
            } catch (RuntimeException e) {
                // Closed meanwhile by a failed send's callback: that failure ends the term, not this.
                batch.notSent(i, producerFailure.get() != null ? producerFailure.get() : e);
                if (producerFailure.get() == null) {
                    throw e;
                }
                return;
            }
        }
    }

    /**
     * A send failed (its callback, on the producer's thread; a {@code send} that throws queued
     * nothing and ends the pass by throwing): the producer is closed without sending what it still holds, so that nothing sent after the
     * failed message can reach Kafka before it is sent again. Every send not yet answered is then
     * answered with a failure.
     */
    private void abort(Exception cause) {
        if (!producerFailure.compareAndSet(null, cause)) {
            return;
        }
        try {
            producer.close(Duration.ZERO);
        } catch (RuntimeException e) {
            log.debug("closing the relay's producer after a failed send: {}", e.getMessage());
        }
    }

    /** Hands the acknowledged batches at the head to the marker. */
    private void handOver(List<String> sink) {
        while (!inFlight.isEmpty() && inFlight.peekFirst().acknowledged()) {
            Batch b = inFlight.removeFirst();
            submit(b.ids, b.eventIds, sink);
        }
    }

    private void submit(long[] ids, String[] eventIds, List<String> sink) {
        if (sink != null) {
            marking.addLast(eventIds);
        }
        marker.submit(ids);
    }

    /** Moves the event ids of the rows marked meanwhile to the sink. */
    private void collect(List<String> sink) {
        if (sink == null) {
            return;
        }
        long marked = marker.markedRows();
        while (!marking.isEmpty() && collectedRows + marking.peekFirst().length <= marked) {
            String[] ids = marking.removeFirst();
            sink.addAll(Arrays.asList(ids));
            collectedRows += ids.length;
        }
    }

    private static void rethrow(Throwable t) throws Exception {
        if (t instanceof Exception e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
    }

    /**
     * Ends the term's publishing: closes the producer (waiting for every send to be answered; it
     * may be closed already, after a failed send) and the marker. Returns how long what the term
     * sent may still take to reach the broker: 0 when every send was acknowledged, the request timeout when one failed (it may have been on its way
     * when the client gave up), or -1 when not every send was answered in time.
     */
    long close() {
        KafkaClients.ProducerTimeouts limits = settings.producer();
        long start = System.nanoTime();
        try {
            producer.close(limits.tail());
        } catch (RuntimeException e) {
            log.debug("closing the relay's producer: {}", e.getMessage());
        }
        // Unforced, a close waits at most the delivery timeout for the answers.
        boolean inTime = System.nanoTime() - start < limits.maxBlock().plus(limits.delivery()).toNanos();
        marker.close();
        if (!inTime || !inFlight.stream().allMatch(Batch::answered)) {
            return -1;
        }
        return failed || inFlight.stream().anyMatch(b -> b.failure() != null) ? limits.request().toMillis() : 0;
    }
}
