package dev.mercuryobridge.chaos;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * What must hold after a fault, checked from the outside: what the load generator was answered,
 * what the database holds and what is on the topics (every record, bytes as published). Pure:
 * no I/O, so the checks themselves are unit-tested.
 *
 * <ul>
 *   <li>every callback answered 200 is stored: its body (by SHA-256) in the raw table, and its
 *       event (transaction id and status, or Spend Card event id) in the event tables;</li>
 *   <li>every callback answered 200 is on Kafka: the message it caused, with its status;</li>
 *   <li>every outbox row is published, with the same bytes; nothing on Kafka that is not in the
 *       outbox; no CloudEvent id carries two different payloads;</li>
 *   <li>per key, one partition, and the first copy of each message in order: a transaction's
 *       sequences 1, 2, 3, … without a gap, as stored; a card's events in the order they were
 *       answered 200.</li>
 * </ul>
 */
final class ChaosChecks {
    /** Problems listed in a result; more are counted, not listed. */
    private static final int MAX_LISTED = 10;

    enum Route { TRANSACTION, SPEND_CARD }

    /**
     * A distinct callback the generator sent. {@code entity} is the transaction or card id,
     * {@code step} its place (from 1) in that entity's callbacks, {@code messageId} the CloudEvent
     * id it must cause; {@code eventId} only for Spend Card events.
     */
    record Callback(Route route, String entity, int step, String status, String eventId, String messageId,
                    String sha256, boolean acked) {
        Callback withAcked(boolean isAcked) {
            return new Callback(route, entity, step, status, eventId, messageId, sha256, isAcked);
        }
    }

    /**
     * One record as read from Kafka: {@code timestamp} is the producer's (when the relay sent it);
     * {@code id}, {@code sequence} and {@code status} are parsed from the CloudEvent.
     */
    record Message(String topic, int partition, long offset, long timestamp, String key, byte[] value, String id,
                   Integer sequence, String status) {}

    record Transition(String transactionId, int sequence, String status) {}

    record OutboxRow(String eventId, String topic, String key, byte[] payload, boolean published) {}

    /** What the database holds. {@code transactionEvents} as {@code "<id>|<status>"}. */
    record Stored(Set<String> callbackSha256, Set<String> transactionEvents, Set<String> spendCardEvents,
                  List<Transition> transitions, List<OutboxRow> outbox) {}

    /**
     * The outcome for one set of callbacks: {@code stored} and {@code published} count the
     * callbacks answered 200 found in the database and on Kafka; {@code duplicateSends} the records
     * on Kafka that repeat an id already there; {@code problems} (with {@code problemCount} of them
     * in all) is empty when everything holds.
     */
    record Result(int sent, int acked, int stored, int published, int records, int duplicateSends,
                  List<String> problems, int problemCount) {
        boolean ok() {
            return problemCount == 0;
        }
    }

    private final List<String> problems = new ArrayList<>();
    private int problemCount;

    private ChaosChecks() {}

    /**
     * Checks the callbacks given against what is stored and on Kafka, restricted to the keys
     * (transaction and card ids) {@code ownKey} accepts.
     */
    static Result check(List<Callback> callbacks, Stored db, List<Message> kafka, String transactionsTopic,
                        Predicate<String> ownKey) {
        return new ChaosChecks().run(callbacks, db, kafka, transactionsTopic, ownKey);
    }

    private Result run(List<Callback> callbacks, Stored db, List<Message> kafka, String transactionsTopic,
                       Predicate<String> ownKey) {
        List<Message> records = kafka.stream().filter(m -> m.key() != null && ownKey.test(m.key())).toList();
        Map<String, List<Message>> byId = new LinkedHashMap<>();
        for (Message m : records) {
            if (m.id() == null) {
                problem("%s p%d@%d (key %s) is not a CloudEvent with an id", m.topic(), m.partition(), m.offset(), m.key());
            } else {
                byId.computeIfAbsent(m.id(), k -> new ArrayList<>()).add(m);
            }
        }
        samePayloadPerId(byId);
        outboxMatchesKafka(db, byId, ownKey);

        int acked = 0;
        int stored = 0;
        int published = 0;
        for (Callback c : callbacks) {
            if (!c.acked()) {
                continue;
            }
            acked++;
            boolean inDb = db.callbackSha256().contains(c.sha256()) && (c.route() == Route.TRANSACTION
                    ? db.transactionEvents().contains(c.entity() + "|" + c.status())
                    : db.spendCardEvents().contains(c.eventId()));
            if (inDb) {
                stored++;
            } else {
                problem("answered 200 but not stored: %s %s step %d (%s)", c.route(), c.entity(), c.step(), c.status());
            }
            List<Message> copies = byId.get(c.messageId());
            if (copies != null && (c.route() == Route.SPEND_CARD || Objects.equals(copies.getFirst().status(), c.status()))) {
                published++;
            } else {
                problem("answered 200 but not on Kafka: %s (%s)%s", c.messageId(), c.status(),
                        copies == null ? "" : "; Kafka has status " + copies.getFirst().status());
            }
        }
        orderPerKey(records, callbacks, db, transactionsTopic, ownKey);
        return new Result(callbacks.size(), acked, stored, published, records.size(), records.size() - byId.size(),
                List.copyOf(problems), problemCount);
    }

    private void samePayloadPerId(Map<String, List<Message>> byId) {
        byId.forEach((id, copies) -> {
            for (Message m : copies) {
                if (!Arrays.equals(m.value(), copies.getFirst().value())) {
                    problem("CloudEvent id %s carries two different payloads (%s p%d@%d and p%d@%d)", id, m.topic(),
                            copies.getFirst().partition(), copies.getFirst().offset(), m.partition(), m.offset());
                    return;
                }
            }
        });
    }

    private void outboxMatchesKafka(Stored db, Map<String, List<Message>> byId, Predicate<String> ownKey) {
        Map<String, OutboxRow> outbox = new LinkedHashMap<>();
        db.outbox().stream().filter(o -> ownKey.test(o.key())).forEach(o -> outbox.put(o.eventId(), o));
        for (OutboxRow o : outbox.values()) {
            if (!o.published()) {
                problem("outbox row %s is not marked published", o.eventId());
            }
            if (!byId.containsKey(o.eventId())) {
                problem("outbox row %s is not on Kafka", o.eventId());
            }
        }
        byId.forEach((id, copies) -> {
            OutboxRow o = outbox.get(id);
            if (o == null) {
                problem("%s is on Kafka but not in the outbox", id);
            } else if (!Arrays.equals(o.payload(), copies.getFirst().value())) {
                problem("%s on Kafka differs from the payload stored in the outbox", id);
            } else if (!copies.getFirst().topic().equals(o.topic()) || !Objects.equals(copies.getFirst().key(), o.key())) {
                problem("%s is on %s key %s, the outbox says %s key %s", id, copies.getFirst().topic(),
                        copies.getFirst().key(), o.topic(), o.key());
            }
        });
    }

    private void orderPerKey(List<Message> records, List<Callback> callbacks, Stored db, String transactionsTopic,
                             Predicate<String> ownKey) {
        Map<String, List<Message>> byKey = new TreeMap<>();
        for (Message m : records) {
            if (m.id() != null) {
                byKey.computeIfAbsent(m.topic() + " " + m.key(), k -> new ArrayList<>()).add(m);
            }
        }
        Map<String, List<Transition>> stored = new TreeMap<>();
        db.transitions().stream().filter(t -> ownKey.test(t.transactionId()))
                .sorted(Comparator.comparingInt(Transition::sequence))
                .forEach(t -> stored.computeIfAbsent(t.transactionId(), k -> new ArrayList<>()).add(t));
        stored.forEach((tx, transitions) -> {
            for (int i = 0; i < transitions.size(); i++) {
                if (transitions.get(i).sequence() != i + 1) {
                    problem("transaction %s: stored sequences %s are not 1..%d", tx,
                            transitions.stream().map(Transition::sequence).toList(), transitions.size());
                    return;
                }
            }
        });
        Map<String, List<Callback>> ackedByCard = new TreeMap<>();
        callbacks.stream().filter(c -> c.acked() && c.route() == Route.SPEND_CARD)
                .sorted(Comparator.comparingInt(Callback::step))
                .forEach(c -> ackedByCard.computeIfAbsent(c.entity(), k -> new ArrayList<>()).add(c));
        Set<String> transactionKeys = new HashSet<>();
        byKey.forEach((topicKey, messages) -> {
            Message first = messages.getFirst();
            if (messages.stream().map(Message::partition).distinct().count() > 1) {
                problem("key %s is on more than one partition", topicKey);
                return;
            }
            messages.sort(Comparator.comparingLong(Message::offset));
            Set<String> seen = new HashSet<>();
            List<Message> firsts = messages.stream().filter(m -> seen.add(m.id())).toList();
            if (first.topic().equals(transactionsTopic)) {
                transactionKeys.add(first.key());
                transactionInOrder(first.key(), firsts, stored.getOrDefault(first.key(), List.of()));
            } else {
                List<String> order = firsts.stream().map(Message::id).toList();
                List<Integer> positions = ackedByCard.getOrDefault(first.key(), List.of()).stream()
                        .map(c -> order.indexOf(c.messageId())).filter(i -> i >= 0).toList();
                for (int i = 1; i < positions.size(); i++) {
                    if (positions.get(i) < positions.get(i - 1)) {
                        problem("key %s: events on Kafka %s are not in the order they were answered 200", topicKey, order);
                        break;
                    }
                }
            }
        });
        stored.keySet().stream().filter(tx -> !transactionKeys.contains(tx))
                .forEach(tx -> problem("transaction %s has stored transitions but nothing on Kafka", tx));
    }

    private void transactionInOrder(String tx, List<Message> firsts, List<Transition> stored) {
        List<Integer> sequences = firsts.stream().map(Message::sequence).toList();
        for (int i = 0; i < sequences.size(); i++) {
            if (!Objects.equals(sequences.get(i), i + 1)) {
                problem("transaction %s: sequences on Kafka %s are not 1, 2, 3, … in order (first copies at p%d offsets %s)",
                        tx, sequences, firsts.getFirst().partition(), firsts.stream().map(Message::offset).toList());
                return;
            }
        }
        List<String> published = firsts.stream().map(Message::status).toList();
        List<String> kept = stored.stream().map(Transition::status).toList();
        if (!published.equals(kept)) {
            problem("transaction %s: statuses on Kafka %s differ from the stored transitions %s", tx, published, kept);
        }
    }

    private void problem(String format, Object... args) {
        problemCount++;
        if (problems.size() < MAX_LISTED) {
            problems.add(String.format(format, args));
        }
    }
}
