package dev.mercuryobridge.outbox;

import dev.mercuryobridge.config.Config;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The Kafka clients this service uses, configured in one place. */
public final class KafkaClients {
    private static final Logger log = LoggerFactory.getLogger(KafkaClients.class);

    private final Config config;

    public KafkaClients(Config config) {
        this.config = config;
    }

    /**
     * Idempotent producer with {@code acks=all}: a retried send is written once and in order per
     * partition. One request in flight per broker: a later request of a partition is never written
     * while an earlier one is still unanswered (with several in flight, a broker that had just
     * restarted refused the first and wrote the next, and the refused one was then refused for
     * good). Timeouts are short so an unreachable broker turns into a fast, retried failure (the
     * outbox keeps the messages) instead of a stuck relay.
     */
    public Producer<String, byte[]> producer() {
        return producer(ProducerTimeouts.DEFAULT);
    }

    Producer<String, byte[]> producer(ProducerTimeouts timeouts) {
        return new KafkaProducer<>(producerConfig(timeouts), new StringSerializer(), new ByteArraySerializer());
    }

    Map<String, Object> producerConfig(ProducerTimeouts timeouts) {
        return Map.ofEntries(
                Map.entry(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrapServers()),
                Map.entry(ProducerConfig.CLIENT_ID_CONFIG, "mercuryo-bridge-outbox"),
                Map.entry(ProducerConfig.ACKS_CONFIG, "all"),
                Map.entry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true),
                Map.entry(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1),
                Map.entry(ProducerConfig.LINGER_MS_CONFIG, 1),
                Map.entry(ProducerConfig.BATCH_SIZE_CONFIG, 131_072),
                Map.entry(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) timeouts.maxBlock().toMillis()),
                Map.entry(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeouts.request().toMillis()),
                Map.entry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeouts.delivery().toMillis()),
                Map.entry(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4"));
    }

    /**
     * The producer's time limits: {@code send} blocks at most {@code maxBlock} (no metadata, full
     * buffer), a request is answered within {@code request}, and a record is acknowledged or failed
     * within {@code delivery} after {@code send} returned.
     */
    record ProducerTimeouts(Duration maxBlock, Duration request, Duration delivery) {
        static final ProducerTimeouts DEFAULT =
                new ProducerTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(15));

        /**
         * How long after a call to {@code send} its record can still be written by the broker:
         * the call itself, the delivery timeout, and one more request timeout for a request the
         * broker received just before the client gave up on it.
         */
        Duration tail() {
            return maxBlock.plus(delivery).plus(request);
        }
    }

    public Admin admin() {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "mercuryo-bridge-admin",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000));
    }

    /** Creates the topics that are missing; existing ones are left as they are. */
    public static void ensureTopics(Admin admin, Config config) throws InterruptedException, ExecutionException, TimeoutException {
        Config.Topics t = config.topics();
        Set<String> existing = admin.listTopics().names().get(5, TimeUnit.SECONDS);
        List<NewTopic> missing = new ArrayList<>();
        for (String name : List.of(t.transactions(), t.spendCard(), t.reconciliation())) {
            if (!existing.contains(name)) {
                missing.add(new NewTopic(name, Optional.of(config.kafkaTopicPartitions()),
                        Optional.ofNullable(config.kafkaReplicationFactor())));
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        for (var entry : admin.createTopics(missing).values().entrySet()) {
            try {
                entry.getValue().get(10, TimeUnit.SECONDS);
                log.info("created Kafka topic {}", entry.getKey());
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }
}
