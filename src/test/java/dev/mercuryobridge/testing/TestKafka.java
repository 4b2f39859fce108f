package dev.mercuryobridge.testing;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * A real in-process Kafka broker (KRaft: one controller, one broker) from Kafka's own test kit.
 * Clients use a stable address, so the broker can be stopped and started again under the service.
 */
public final class TestKafka implements AutoCloseable {
    private static volatile TestKafka shared;

    private final KafkaClusterTestKit cluster;
    private final TcpForwarder forwarder;
    private final int port;

    private TestKafka(KafkaClusterTestKit cluster, TcpForwarder forwarder, int port) {
        this.cluster = cluster;
        this.forwarder = forwarder;
        this.port = port;
    }

    /** One broker for the whole test run. Tests isolate themselves by topic names. */
    public static synchronized TestKafka shared() {
        if (shared == null) {
            shared = start();
            Runtime.getRuntime().addShutdownHook(new Thread(shared::close));
        }
        return shared;
    }

    /** A broker of one's own (for tests that stop it). The broker really stops and starts again. */
    public static TestKafka start() {
        try {
            return start(freePort());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A broker whose clients connect to the given loopback port. */
    public static TestKafka start(int port) {
        try {
            TestKitNodes nodes = new TestKitNodes.Builder()
                    .setCombined(false)
                    .setNumControllerNodes(1)
                    .setNumBrokerNodes(1)
                    // Clients reach the broker through a forwarder on a stable port (see TcpForwarder).
                    .setPerServerProperties(Map.of(0, Map.of("advertised.listeners", "EXTERNAL://localhost:" + port)))
                    .build();
            KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(nodes)
                    .setConfigProp("offsets.topic.replication.factor", "1")
                    .setConfigProp("transaction.state.log.replication.factor", "1")
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    .setConfigProp("auto.create.topics.enable", "false")
                    // A restarted broker may register again quickly (the controller forgets the
                    // old session sooner than its 9 s default).
                    .setConfigProp("broker.session.timeout.ms", "2000")
                    .setConfigProp("broker.heartbeat.interval.ms", "500")
                    .build();
            formatQuietly(cluster);
            cluster.startup();
            cluster.waitForReadyBrokers();
            TcpForwarder forwarder = new TcpForwarder(port, () -> cluster.brokers().get(0)
                    .boundPort(ListenerName.normalised("EXTERNAL")));
            return new TestKafka(cluster, forwarder, port);
        } catch (Exception e) {
            throw new IllegalStateException("could not start the embedded Kafka broker", e);
        }
    }

    /**
     * Kafka's storage tool prints its progress ("Formatting metadata directory ...", "Bootstrap
     * metadata: ...") to the System.out it finds when the test kit makes it. Those two lines go;
     * everything else printed meanwhile passes through, and a failure still throws with its reason.
     */
    private static synchronized void formatQuietly(KafkaClusterTestKit cluster) throws Exception {
        PrintStream out = System.out;
        System.setOut(new WithoutStorageToolProgress(out));
        try {
            cluster.format();
        } finally {
            System.setOut(out);
        }
    }

    private static final class WithoutStorageToolProgress extends PrintStream {
        WithoutStorageToolProgress(PrintStream out) {
            super(out, true, out.charset());
        }

        @Override
        public void println(String line) {
            if (line == null || !line.startsWith("Bootstrap metadata: ")) {
                super.println(line);
            }
        }

        @Override
        public PrintStream format(String format, Object... args) {
            return format.startsWith("Formatting ") ? this : super.format(format, args);
        }
    }

    public String bootstrapServers() {
        return "localhost:" + port;
    }

    public void stopBroker() {
        cluster.brokers().values().forEach(b -> b.shutdown());
        cluster.brokers().values().forEach(b -> b.awaitShutdown());
    }

    public void startBroker() {
        try {
            cluster.brokers().values().forEach(b -> b.startup());
            cluster.waitForReadyBrokers();
        } catch (Exception e) {
            throw new IllegalStateException("could not restart the broker", e);
        }
    }

    /** A consumer reading the given topics from the beginning. */
    public KafkaConsumer<String, String> consumer(String... topics) {
        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                new StringDeserializer(), new StringDeserializer());
        consumer.subscribe(List.of(topics));
        return consumer;
    }

    /** Polls until the predicate holds for what was read so far, or the timeout passes. */
    public static List<ConsumerRecord<String, String>> readUntil(KafkaConsumer<String, String> consumer,
                                                                 Predicate<List<ConsumerRecord<String, String>>> done,
                                                                 Duration timeout) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.test(records) && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        }
        return records;
    }

    /** Reads whatever else arrives within the quiet period (to prove that nothing more comes). */
    public static List<ConsumerRecord<String, String>> drain(KafkaConsumer<String, String> consumer, Duration quiet) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + quiet.toNanos();
        while (System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        }
        return records;
    }

    public static String header(ConsumerRecord<String, String> record, String name) {
        var h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        try {
            forwarder.close();
            cluster.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
