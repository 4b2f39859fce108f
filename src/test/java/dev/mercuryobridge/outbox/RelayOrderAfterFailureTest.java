package dev.mercuryobridge.outbox;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.testing.TestApp;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Order per key survives a send that fails for good while later messages of its key are queued
 * behind it on the same producer (as after a broker restart): the relay closes the producer at the
 * first failure, so nothing queued behind the failed message is written, and the next term sends
 * from the failed message on.
 */
class RelayOrderAfterFailureTest {
    private static final Pattern ID = Pattern.compile("\"id\":\"([^\"]+)\"");
    private static final int KEYS = 5;
    private static final int PER_KEY = 40;

    @RegisterExtension
    final RelayFixture f = new RelayFixture();

    @Test
    void a_message_that_failed_for_good_reaches_the_log_before_every_later_message_of_its_key() throws Exception {
        List<String> ids = f.append("order", KEYS, PER_KEY);
        // 4 batches of 50 in flight: all 200 rows are queued on the first producer before it
        // answers any; the first attempt of order2's 13th message (row 63, in the 2nd batch) is
        // refused for good, with order2's 14th to 40th queued behind it.
        String refused = "relay-test/order2/13";
        Set<String> attempted = ConcurrentHashMap.newKeySet();
        PartitionLogProducer.Log log = new PartitionLogProducer.Log();
        AtomicInteger producers = new AtomicInteger();
        OutboxRelay relay = f.relay(RelayFixture.settings(50, RelayFixture.SHORT, Duration.ofSeconds(5)),
                () -> new PartitionLogProducer(log, producers.getAndIncrement() == 0 ? KEYS * PER_KEY : 0,
                        r -> id(r).equals(refused) && attempted.add(refused)));

        assertThatThrownBy(relay::publishOnce).isInstanceOf(OutOfOrderSequenceException.class)
                .hasMessageContaining("simulated");
        // Marked: the 62 rows before the refused one (all acknowledged), nothing after it.
        assertThat(f.unpublished()).isEqualTo(KEYS * PER_KEY - 62);

        List<String> second = relay.publishOnce();
        assertThat(second).containsExactlyElementsOf(ids.subList(62, ids.size()));
        assertThat(producers.get()).isEqualTo(2);
        assertThat(f.unpublished()).isZero();

        Map<String, List<Integer>> sequences = new LinkedHashMap<>();
        Map<String, List<Integer>> firstCopies = new LinkedHashMap<>();
        Map<String, byte[]> written = new LinkedHashMap<>();
        for (ProducerRecord<String, byte[]> r : log.records()) {
            String id = id(r);
            int sequence = Integer.parseInt(id.substring(id.lastIndexOf('/') + 1));
            sequences.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(sequence);
            if (written.putIfAbsent(id, r.value()) == null) {
                firstCopies.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(sequence);
            }
        }
        List<Integer> inOrder = IntStream.rangeClosed(1, PER_KEY).boxed().toList();
        // Per key, a consumer sees 1, 2, ... in order (counting each message at its first copy):
        // nothing of a key went out before a message it follows.
        assertThat(firstCopies).hasSize(KEYS);
        firstCopies.forEach((key, seqs) -> assertThat(seqs).as("first copies of %s in the log", key).isEqualTo(inOrder));
        // And the sequence never goes back at all: nothing queued behind the failed message was
        // written by the failed producer, so nothing is sent twice either.
        sequences.forEach((key, seqs) -> assertThat(seqs).as("sequences of %s in the log", key).isEqualTo(inOrder));

        // Every row is in the log with the bytes stored.
        var stored = f.dsl().select(OUTBOX.EVENT_ID, OUTBOX.PAYLOAD).from(OUTBOX).orderBy(OUTBOX.ID).fetch();
        assertThat(stored).hasSize(ids.size());
        for (var row : stored) {
            assertThat(written.get(row.value1())).as("the bytes of %s in the log", row.value1()).isEqualTo(row.value2());
        }
    }

    @Test
    void the_relays_producer_has_one_request_in_flight_and_stays_idempotent() {
        Map<String, Object> config = new KafkaClients(Config.fromEnvironment(
                TestApp.env("jdbc:postgresql://127.0.0.1:1/none", TestApp.kafkaEnv("127.0.0.1:1")))).producerConfig(KafkaClients.ProducerTimeouts.DEFAULT);
        assertThat(config).containsEntry(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1)
                .containsEntry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)
                .containsEntry(ProducerConfig.ACKS_CONFIG, "all");
    }

    private static String id(ProducerRecord<String, byte[]> record) {
        Matcher m = ID.matcher(new String(record.value(), StandardCharsets.UTF_8));
        if (!m.find()) {
            throw new AssertionError("no id in " + new String(record.value(), StandardCharsets.UTF_8));
        }
        return m.group(1);
    }
}
