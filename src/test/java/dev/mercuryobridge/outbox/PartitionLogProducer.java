package dev.mercuryobridge.outbox;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.KafkaMetric;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.function.Predicate;

/**
 * A producer and the broker's log in one, for what a real broker does only by chance: which send
 * fails and what the producer does next. Sends are queued and answered in order on the producer's
 * own thread, as Kafka's I/O thread does, once {@code holdUntil} sends are queued (so that the
 * test knows what is queued behind a failure) or the producer is closing. A send {@code fails}
 * picks is refused and not written; the producer goes on with the sends queued behind it, as
 * Kafka's idempotent producer does once a batch failed for good (it bumps its epoch and sends the
 * next batches). {@code close(Duration.ZERO)} writes nothing more and fails every unanswered send
 * ("closed forcefully"), also from a callback; a close with a timeout first answers what is
 * queued. A send after close is refused, as Kafka's is.
 */
final class PartitionLogProducer implements RelayProducer {

    /** What the broker holds: every record written, in the order written (one partition per key, as Kafka's). */
    static final class Log {
        private final List<ProducerRecord<String, byte[]>> records = new ArrayList<>();

        synchronized void write(ProducerRecord<String, byte[]> record) {
            records.add(record);
        }

        synchronized List<ProducerRecord<String, byte[]>> records() {
            return List.copyOf(records);
        }
    }

    private record Pending(ProducerRecord<String, byte[]> record, Callback callback, CompletableFuture<RecordMetadata> future) {}

    private final Log log;
    private final int holdUntil;
    private final Predicate<ProducerRecord<String, byte[]>> fails;
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final Thread io;
    private boolean closing;
    private boolean forced;

    PartitionLogProducer(Log log, int holdUntil, Predicate<ProducerRecord<String, byte[]>> fails) {
        this.log = log;
        this.holdUntil = holdUntil;
        this.fails = fails;
        this.io = Thread.ofPlatform().daemon().name("partition-log-producer").start(this::answer);
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
        synchronized (this) {
            if (closing) {
                throw new IllegalStateException("Cannot perform operation after producer has been closed");
            }
            CompletableFuture<RecordMetadata> future = new CompletableFuture<>();
            queue.addLast(new Pending(record, callback, future));
            notifyAll();
            return future;
        }
    }

    /** The producer's thread: answers the queued sends in order. */
    private void answer() {
        boolean started = false;
        while (true) {
            Pending next;
            boolean abort;
            synchronized (this) {
                while (queue.isEmpty() && !closing || !started && queue.size() < holdUntil && !closing) {
                    waitHere();
                }
                started = true;
                if (queue.isEmpty()) {
                    return;
                }
                next = queue.removeFirst();
                abort = forced;
            }
            if (abort) {
                complete(next, null, new KafkaException("Producer is closed forcefully."));
            } else if (fails.test(next.record())) {
                complete(next, null, new org.apache.kafka.common.errors.OutOfOrderSequenceException(
                        "simulated: the broker refused this send for good"));
            } else {
                log.write(next.record());
                complete(next, new RecordMetadata(new TopicPartition(next.record().topic(), 0), 0, 0, 0L, 0, 0), null);
            }
        }
    }

    private static void complete(Pending p, RecordMetadata metadata, Exception exception) {
        if (p.callback() != null) {
            p.callback().onCompletion(metadata, exception);
        }
        if (exception == null) {
            p.future().complete(metadata);
        } else {
            p.future().completeExceptionally(exception);
        }
    }

    private void waitHere() {
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        close(Duration.ofMillis(Long.MAX_VALUE));
    }

    @Override
    public void close(Duration timeout) {
        synchronized (this) {
            closing = true;
            forced |= timeout.isZero();
            notifyAll();
        }
        if (Thread.currentThread() == io) {
            return;   // from a callback: the thread ends once this answer is given
        }
        try {
            // Like Kafka's, a forced close waits for the thread too (it only fails what is left).
            io.join(timeout.isZero() ? 60_000 : Math.min(timeout.toMillis(), 60_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void flush() {
        throw new UnsupportedOperationException("the relay does not flush");
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic) {
        throw new UnsupportedOperationException("the relay does not ask");
    }

    @Override
    public Map<MetricName, ? extends Metric> metrics() {
        return Map.of();
    }

    @Override
    public Uuid clientInstanceId(Duration timeout) {
        throw new UnsupportedOperationException("the relay does not ask");
    }

    @Override
    public void registerMetricForSubscription(KafkaMetric metric) {
    }

    @Override
    public void unregisterMetricFromSubscription(KafkaMetric metric) {
    }
}
