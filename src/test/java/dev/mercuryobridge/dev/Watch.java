package dev.mercuryobridge.dev;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** {@code make watch TOPIC=...}: prints every message of a topic from the beginning, as it arrives. */
public final class Watch {

    private Watch() {}

    public static void main(String[] args) {
        String topic = args.length > 0 && !args[0].isBlank() ? args[0] : "mercuryo.transactions.v1";
        String bootstrap = System.getenv().getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "localhost:" + DevMode.DEV_KAFKA_PORT);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "watch-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            System.err.println("watching " + topic + " on " + bootstrap + " (Ctrl-C stops)");
            while (true) {
                consumer.poll(Duration.ofMillis(500)).forEach(r ->
                        System.out.printf("%s p%d@%d key=%s%n%s%n%n", r.topic(), r.partition(), r.offset(), r.key(), r.value()));
            }
        }
    }
}
