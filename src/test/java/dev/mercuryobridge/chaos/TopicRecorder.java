package dev.mercuryobridge.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * Reads the topics from their beginning, all partitions, for the whole run, and keeps every
 * record (bytes as published) with the time it was first seen; a record read again at the same
 * offset is kept once. No consumer group: nothing is committed, nothing is skipped.
 */
final class TopicRecorder implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String bootstrapServers;
    private final List<String> topics;
    private final List<ChaosChecks.Message> messages = new ArrayList<>();
    private final Map<String, Long> firstSeenNanos = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
    private final Map<String, byte[]> byOffset = new java.util.HashMap<>();
    private final List<String> rewritten = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean running = true;

    TopicRecorder(String bootstrapServers, List<String> topics) {
        this.bootstrapServers = bootstrapServers;
        this.topics = List.copyOf(topics);
        this.thread = Thread.ofPlatform().name("topic-recorder").daemon().start(this::run);
    }

    private void run() {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5_000),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                List<PartitionInfo> infos = List.of();
                while (running && infos.isEmpty()) {
                    // The service creates its topics when its relay starts.
                    try {
                        infos = consumer.listTopics(Duration.ofSeconds(5)).getOrDefault(topic, List.of());
                    } catch (org.apache.kafka.common.errors.TimeoutException e) {
                        // A slow broker (a loaded machine): ask again.
                    }
                    if (infos.isEmpty()) {
                        Thread.sleep(200);
                    }
                }
                infos.forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    record(r);
                }
                try {
                    for (TopicPartition tp : partitions) {
                        positions.put(tp, consumer.position(tp, Duration.ofSeconds(1)));
                    }
                } catch (org.apache.kafka.common.errors.TimeoutException e) {
                    // The broker is down: the positions are read again after the next poll.
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (running) {
                failure.set(e);
            }
        }
    }

    private void record(ConsumerRecord<String, byte[]> r) {
        long now = System.nanoTime();
        String id = null;
        Integer sequence = null;
        String status = null;
        try {
            JsonNode event = JSON.readTree(r.value());
            id = event.path("id").asText(null);
            JsonNode data = event.path("data");
            sequence = data.path("sequence").isInt() ? data.path("sequence").intValue() : null;
            status = data.path("status").asText(null);
        } catch (IOException e) {
            // Not a CloudEvent: kept without an id; the checks report it.
        }
        String where = r.topic() + " p" + r.partition() + "@" + r.offset();
        synchronized (messages) {
            byte[] before = byOffset.putIfAbsent(where, r.value());
            if (before != null) {
                // Read again (the consumer went back after the broker restarted): the same record,
                // unless the broker lost what it had acknowledged and wrote something else there.
                if (!java.util.Arrays.equals(before, r.value())) {
                    rewritten.add(where);
                }
                return;
            }
            messages.add(new ChaosChecks.Message(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value(), id,
                    sequence, status));
        }
        if (id != null) {
            firstSeenNanos.putIfAbsent(id, now);
        }
    }

    /** Throws if the reader has stopped on an error. */
    void check() {
        if (failure.get() != null) {
            throw new IllegalStateException("the topic reader failed", failure.get());
        }
    }

    boolean seen(String cloudEventId) {
        return firstSeenNanos.containsKey(cloudEventId);
    }

    /** Offsets that were read twice with different records: the broker lost acknowledged records. */
    List<String> rewrittenOffsets() {
        synchronized (messages) {
            return List.copyOf(rewritten);
        }
    }

    int count() {
        synchronized (messages) {
            return messages.size();
        }
    }

    List<ChaosChecks.Message> messages() {
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }

    /** Waits until every record written to the topics so far has been read. */
    void awaitCaughtUp(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<TopicPartition, Long> ends;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            Map<TopicPartition, OffsetSpec> latest = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS)
                    .values().stream().flatMap(d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
                    .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest()));
            ends = admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
        }
        while (ends.entrySet().stream().anyMatch(e -> positions.getOrDefault(e.getKey(), 0L) < e.getValue())) {
            check();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the topics were not read to their end within " + timeout.toSeconds()
                        + " s (read " + positions + ", end " + ends + ")");
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(10_000);
    }
}
