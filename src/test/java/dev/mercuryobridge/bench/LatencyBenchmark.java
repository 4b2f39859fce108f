package dev.mercuryobridge.bench;

import dev.mercuryobridge.testing.TestDatabase;

import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.Callbacks;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code make bench}: callback-to-Kafka latency at a steady light load, on this machine, with
 * the real service, PostgreSQL and broker (all embedded, loopback only, bounded in count).
 *
 * <p>Three figures from the same run, so noise on a shared machine shows up in all of them:
 * the HTTP answer (verify + commit), callback-to-consumer (what downstream sees), and a baseline
 * of plain Kafka produce-to-consume on the same broker. Ratios tell what the outbox adds.
 *
 * <p>Arguments: {@code rate=50 seconds=20 warmup=200}.
 */
public final class LatencyBenchmark {

    public static void main(String[] args) throws Exception {
        TestDatabase.durable();
        System.out.println("PostgreSQL: " + TestDatabase.durability());
        Map<String, Integer> opts = BenchArgs.parse("LatencyBenchmark", args, Map.of("rate", 50, "seconds", 20, "warmup", 200));
        int rate = opts.get("rate");
        int count = rate * opts.get("seconds");
        System.out.printf("mercuryo-bridge latency benchmark: %d callbacks at %d/s after %d warm-up callbacks%n",
                count, rate, opts.get("warmup"));

        try (TestKafka kafka = TestKafka.start();
             TestApp app = TestApp.start(TestApp.kafkaEnv(kafka.bootstrapServers()))) {
            String topic = app.transactionsTopic();
            Map<String, Long> received = new ConcurrentHashMap<>();
            AtomicBoolean running = new AtomicBoolean(true);
            Thread consumerThread = consume(kafka.bootstrapServers(), topic, received, running, true);

            run(app, "warm", opts.get("warmup"), rate, received, new long[opts.get("warmup")]);
            long[] answer = new long[count];
            long[] endToEnd = run(app, "b", count, rate, received, answer);

            String baselineTopic = topic + ".baseline";
            long[] baseline = baseline(kafka.bootstrapServers(), baselineTopic, count, rate);
            running.set(false);
            consumerThread.join();

            System.out.println();
            System.out.printf("%-42s %8s %8s %8s %8s%n", "", "p50 ms", "p90 ms", "p99 ms", "max ms");
            print("HTTP 200 (verify + commit)", answer);
            print("callback -> Kafka consumer (end to end)", endToEnd);
            print("baseline: Kafka produce -> consume", baseline);
            System.out.println();
            System.out.printf("ratio end-to-end / baseline:   p50 %.1fx   p99 %.1fx%n",
                    pct(endToEnd, 50) / Math.max(0.001, pct(baseline, 50)), pct(endToEnd, 99) / Math.max(0.001, pct(baseline, 99)));
            System.out.printf("ratio end-to-end / HTTP 200:   p50 %.1fx   p99 %.1fx%n",
                    pct(endToEnd, 50) / Math.max(0.001, pct(answer, 50)), pct(endToEnd, 99) / Math.max(0.001, pct(answer, 99)));
            System.out.printf("target p99 end to end < 200 ms: %s (%.1f ms)%n",
                    pct(endToEnd, 99) < 200 ? "met" : "NOT met", pct(endToEnd, 99));
        }
        System.exit(0);
    }

    /** Posts callbacks at a steady rate; returns each one's time to reach the consumer. */
    private static long[] run(TestApp app, String prefix, int count, int rate, Map<String, Long> received, long[] answer)
            throws InterruptedException {
        String run = prefix + UUID.randomUUID().toString().substring(0, 6);
        long[] sentAt = new long[count];
        long intervalNanos = 1_000_000_000L / rate;
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long due = start + i * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            sentAt[i] = System.nanoTime();
            int status = app.postCallback(Callbacks.TRANSACTION_PATH, Callbacks.transaction(run + "-" + i, "buy", "new", 100)).statusCode();
            answer[i] = System.nanoTime() - sentAt[i];
            if (status != 200) {
                throw new IllegalStateException("callback answered " + status);
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long[] latency = new long[count];
        for (int i = 0; i < count; i++) {
            Long at;
            while ((at = received.get(run + "-" + i)) == null) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("message " + run + "-" + i + " never arrived");
                }
                Thread.sleep(5);
            }
            latency[i] = at - sentAt[i];
        }
        return latency;
    }

    private static Thread consume(String bootstrap, String topic, Map<String, Long> received, AtomicBoolean running,
                                  boolean keyed) throws InterruptedException {
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "bench-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 5),
                new StringDeserializer(), new StringDeserializer());
        consumer.subscribe(List.of(topic));
        Thread t = new Thread(() -> {
            try (consumer) {
                while (running.get()) {
                    consumer.poll(Duration.ofMillis(5)).forEach(r -> received.putIfAbsent(keyed ? r.key() : r.value(), System.nanoTime()));
                }
            }
        }, "bench-consumer");
        t.start();
        Thread.sleep(2_000);   // let the consumer join its group before the clock starts
        return t;
    }

    /** Plain Kafka produce -> consume latency on the same broker, same rate, same count. */
    private static long[] baseline(String bootstrap, String topic, int count, int rate) throws Exception {
        try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 3, (short) 1))).all().get();
        }
        Map<String, Long> received = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread consumer = consume(bootstrap, topic, received, running, true);
        long[] latency = new long[count];
        long[] sentAt = new long[count];
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.LINGER_MS_CONFIG, 1),
                new StringSerializer(), new StringSerializer())) {
            long intervalNanos = 1_000_000_000L / rate;
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                long wait = start + i * intervalNanos - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                sentAt[i] = System.nanoTime();
                producer.send(new ProducerRecord<>(topic, "k" + i, Json.MAPPER.writeValueAsString(Map.of("i", i)))).get();
            }
        }
        for (int i = 0; i < count; i++) {
            Long at;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while ((at = received.get("k" + i)) == null && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            latency[i] = at == null ? Long.MAX_VALUE : at - sentAt[i];
        }
        running.set(false);
        consumer.join();
        return latency;
    }

    private static void print(String label, long[] nanos) {
        System.out.printf("%-42s %8.1f %8.1f %8.1f %8.1f%n", label, pct(nanos, 50), pct(nanos, 90), pct(nanos, 99), pct(nanos, 100));
    }

    private static double pct(long[] nanos, double p) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1_000_000.0;
    }

}
