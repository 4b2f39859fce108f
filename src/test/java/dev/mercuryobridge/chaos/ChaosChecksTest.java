package dev.mercuryobridge.chaos;

import dev.mercuryobridge.chaos.ChaosChecks.Callback;
import dev.mercuryobridge.chaos.ChaosChecks.Message;
import dev.mercuryobridge.chaos.ChaosChecks.OutboxRow;
import dev.mercuryobridge.chaos.ChaosChecks.Route;
import dev.mercuryobridge.chaos.ChaosChecks.Stored;
import dev.mercuryobridge.chaos.ChaosChecks.Transition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The chaos suite's checks, on hand-made answers, rows and records: each catches what it is for. */
class ChaosChecksTest {
    private static final String TX_TOPIC = "tx";
    private static final String CARD_TOPIC = "card";

    /** A consistent world: two transitions of one transaction, two events of one card, all published once. */
    private final List<Callback> callbacks = new ArrayList<>(List.of(
            tx("p-tx-1", 1, "new"), tx("p-tx-1", 2, "paid"),
            card("p-card-1", 1, "e1"), card("p-card-1", 2, "e2")));
    private final Set<String> hashes = new HashSet<>(Set.of("h-p-tx-1-1", "h-p-tx-1-2", "h-p-card-1-1", "h-p-card-1-2"));
    private final Set<String> events = new HashSet<>(Set.of("p-tx-1|new", "p-tx-1|paid"));
    private final Set<String> cardEvents = new HashSet<>(Set.of("e1", "e2"));
    private final List<Transition> transitions = new ArrayList<>(List.of(
            new Transition("p-tx-1", 1, "new"), new Transition("p-tx-1", 2, "paid")));
    private final List<OutboxRow> outbox = new ArrayList<>(List.of(
            row(TX_TOPIC, "p-tx-1", "transaction/p-tx-1/1"), row(TX_TOPIC, "p-tx-1", "transaction/p-tx-1/2"),
            row(CARD_TOPIC, "p-card-1", "spend-card/e1"), row(CARD_TOPIC, "p-card-1", "spend-card/e2")));
    private final List<Message> kafka = new ArrayList<>(List.of(
            txMessage(0, "p-tx-1", 1, "new"), txMessage(1, "p-tx-1", 2, "paid"),
            cardMessage(0, "p-card-1", "e1"), cardMessage(1, "p-card-1", "e2")));

    @Test
    void a_consistent_run_passes_and_counts_what_was_answered_stored_and_published() {
        ChaosChecks.Result r = check();

        assertThat(r.problems()).isEmpty();
        assertThat(r.ok()).isTrue();
        assertThat(r).extracting(ChaosChecks.Result::sent, ChaosChecks.Result::acked, ChaosChecks.Result::stored,
                ChaosChecks.Result::published, ChaosChecks.Result::records, ChaosChecks.Result::duplicateSends)
                .containsExactly(4, 4, 4, 4, 4, 0);
    }

    @Test
    void a_re_sent_message_with_the_same_bytes_is_a_duplicate_send_not_a_problem() {
        kafka.add(txMessage(2, "p-tx-1", 1, "new"));

        ChaosChecks.Result r = check();

        assertThat(r.problems()).isEmpty();
        assertThat(r.duplicateSends()).isEqualTo(1);
    }

    @Test
    void a_callback_answered_200_but_missing_from_the_database_is_reported() {
        events.remove("p-tx-1|paid");

        assertThat(check().problems()).singleElement().asString().startsWith("answered 200 but not stored: TRANSACTION p-tx-1 step 2");
    }

    @Test
    void a_callback_answered_200_whose_raw_body_is_missing_is_reported() {
        hashes.remove("h-p-card-1-2");

        assertThat(check().problems()).singleElement().asString().contains("not stored: SPEND_CARD p-card-1 step 2");
    }

    @Test
    void a_callback_not_answered_200_need_not_be_anywhere() {
        callbacks.add(new Callback(Route.TRANSACTION, "p-tx-2", 1, "new", null, "transaction/p-tx-2/1", "h-none", false));

        ChaosChecks.Result r = check();

        assertThat(r.problems()).isEmpty();
        assertThat(r.sent()).isEqualTo(5);
        assertThat(r.acked()).isEqualTo(4);
    }

    @Test
    void a_callback_answered_200_whose_message_never_reached_kafka_is_reported() {
        kafka.removeIf(m -> "spend-card/e2".equals(m.id()));

        assertThat(check().problems()).contains("answered 200 but not on Kafka: spend-card/e2 (active)",
                "outbox row spend-card/e2 is not on Kafka");
    }

    @Test
    void one_id_with_two_different_payloads_is_reported() {
        kafka.add(new Message(TX_TOPIC, 0, 2, 0, "p-tx-1", bytes("transaction/p-tx-1/1 but different"),
                "transaction/p-tx-1/1", 1, "new"));

        assertThat(check().problems()).anyMatch(p -> p.startsWith("CloudEvent id transaction/p-tx-1/1 carries two different payloads"));
    }

    @Test
    void a_message_on_kafka_that_the_outbox_never_held_is_reported() {
        kafka.add(new Message(TX_TOPIC, 0, 2, 0, "p-tx-1", bytes("transaction/p-tx-1/3"), "transaction/p-tx-1/3", 3, "paid"));

        assertThat(check().problems()).contains("transaction/p-tx-1/3 is on Kafka but not in the outbox");
    }

    @Test
    void an_outbox_row_left_unpublished_is_reported() {
        outbox.set(1, new OutboxRow("transaction/p-tx-1/2", TX_TOPIC, "p-tx-1", bytes("transaction/p-tx-1/2"), false));

        assertThat(check().problems()).containsExactly("outbox row transaction/p-tx-1/2 is not marked published");
    }

    @Test
    void transitions_out_of_order_on_kafka_are_reported() {
        kafka.set(0, txMessage(1, "p-tx-1", 1, "new"));
        kafka.set(1, txMessage(0, "p-tx-1", 2, "paid"));

        assertThat(check().problems()).containsExactly(
                "transaction p-tx-1: sequences on Kafka [2, 1] are not 1, 2, 3, … in order (first copies at p0 offsets [0, 1])");
    }

    @Test
    void a_gap_in_the_stored_sequence_is_reported() {
        transitions.set(1, new Transition("p-tx-1", 3, "paid"));

        assertThat(check().problems()).contains("transaction p-tx-1: stored sequences [1, 3] are not 1..2");
    }

    @Test
    void card_events_published_in_another_order_than_they_were_answered_are_reported() {
        kafka.set(2, cardMessage(1, "p-card-1", "e1"));
        kafka.set(3, cardMessage(0, "p-card-1", "e2"));

        assertThat(check().problems()).singleElement().asString().contains("not in the order they were answered 200");
    }

    @Test
    void one_key_on_two_partitions_is_reported() {
        kafka.set(1, new Message(TX_TOPIC, 1, 0, 0, "p-tx-1", bytes("transaction/p-tx-1/2"), "transaction/p-tx-1/2", 2, "paid"));

        assertThat(check().problems()).contains("key tx p-tx-1 is on more than one partition");
    }

    @Test
    void only_the_keys_of_the_phase_are_checked() {
        kafka.add(new Message(TX_TOPIC, 3, 0, 0, "q-tx-9", bytes("x"), "transaction/q-tx-9/5", 5, "paid"));

        assertThat(check().problems()).isEmpty();
    }

    @Test
    void publishing_counts_only_between_samples_where_the_instance_held_the_lock_at_neither() {
        // a holds the lock, its session is terminated (b takes over), a publishes 50 more, then a wins it back.
        double without = PublisherWatch.publishedWithoutLock("a",
                java.util.Arrays.asList("a", null, "b", "b", "a", "a"),
                List.of(100.0, 130.0, 160.0, 180.0, 190.0, 300.0));

        assertThat(without).isEqualTo(50.0);
    }

    private ChaosChecks.Result check() {
        return ChaosChecks.check(callbacks, new Stored(hashes, events, cardEvents, transitions, outbox), kafka, TX_TOPIC,
                k -> k.startsWith("p-"));
    }

    private static Callback tx(String id, int step, String status) {
        return new Callback(Route.TRANSACTION, id, step, status, null, "transaction/" + id + "/" + step,
                "h-" + id + "-" + step, true);
    }

    private static Callback card(String cardId, int step, String eventId) {
        return new Callback(Route.SPEND_CARD, cardId, step, "active", eventId, "spend-card/" + eventId,
                "h-" + cardId + "-" + step, true);
    }

    private static OutboxRow row(String topic, String key, String id) {
        return new OutboxRow(id, topic, key, bytes(id), true);
    }

    private static Message txMessage(long offset, String id, int sequence, String status) {
        String eventId = "transaction/" + id + "/" + sequence;
        return new Message(TX_TOPIC, 0, offset, 0, id, bytes(eventId), eventId, sequence, status);
    }

    private static Message cardMessage(long offset, String cardId, String eventId) {
        return new Message(CARD_TOPIC, 2, offset, 0, cardId, bytes("spend-card/" + eventId), "spend-card/" + eventId, null, "active");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
