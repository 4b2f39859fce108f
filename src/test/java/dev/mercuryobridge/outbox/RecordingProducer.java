package dev.mercuryobridge.outbox;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.KafkaMetric;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.Future;

/**
 * A real producer that also writes down, for every record, who sent it, when {@code send} was
 * called and when the broker's answer came: what two relays did, seen from outside them.
 */
final class RecordingProducer implements RelayProducer {

    /** One record as a relay sent it; {@code answeredNanos} is 0 until the answer came. */
    static final class Send {
        final String relay;
        final String key;
        final long sentNanos;
        final java.time.Instant sentAt = java.time.Instant.now();
        volatile long answeredNanos;
        volatile boolean acknowledged;

        Send(String relay, String key, long sentNanos) {
            this.relay = relay;
            this.key = key;
            this.sentNanos = sentNanos;
        }
    }

    private final String relay;
    private final Producer<String, byte[]> delegate;
    private final Queue<Send> log;

    RecordingProducer(String relay, Producer<String, byte[]> delegate, Queue<Send> log) {
        this.relay = relay;
        this.delegate = delegate;
        this.log = log;
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
        Send send = new Send(relay, record.key(), System.nanoTime());
        log.add(send);
        return delegate.send(record, (metadata, exception) -> {
            send.acknowledged = exception == null;
            send.answeredNanos = System.nanoTime();
            if (callback != null) {
                callback.onCompletion(metadata, exception);
            }
        });
    }

    @Override
    public void flush() {
        delegate.flush();
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic) {
        return delegate.partitionsFor(topic);
    }

    @Override
    public Map<MetricName, ? extends Metric> metrics() {
        return delegate.metrics();
    }

    @Override
    public Uuid clientInstanceId(Duration timeout) {
        return delegate.clientInstanceId(timeout);
    }

    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public void close(Duration timeout) {
        delegate.close(timeout);
    }

    @Override
    public void registerMetricForSubscription(KafkaMetric metric) {
        delegate.registerMetricForSubscription(metric);
    }

    @Override
    public void unregisterMetricFromSubscription(KafkaMetric metric) {
        delegate.unregisterMetricFromSubscription(metric);
    }
}
