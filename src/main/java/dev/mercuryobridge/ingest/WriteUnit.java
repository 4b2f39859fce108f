package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.Transactions;
import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
import dev.mercuryobridge.outbox.Outbox;
import dev.mercuryobridge.outbox.OutboxMessage;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record2;
import org.jooq.impl.DSL;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.db.generated.Tables.WATCHED_SELL_REQUEST;

/**
 * What one database transaction writes once its callbacks are decided. The decisions are made
 * in memory, in arrival order, against the state rows locked up front (all at once, in
 * transaction id order, so writers never deadlock on them); {@link #flush()} then writes each
 * kind of row with one set-based statement, whatever the number of callbacks: the state rows,
 * the transitions, the outbox messages (in the order they were decided, so the relay reads them
 * in sequence order), the watched sell requests, the quarantined bodies and the outcomes of the
 * callbacks that were not accepted.
 */
final class WriteUnit {
    private static final int ROWS_PER_STATEMENT = 1_000;

    /** A transition row, written with the others of its database transaction in one statement. */
    record Transition(String transactionId, int sequence, String previousStatus, String status, boolean isFinal,
                      Instant changedAt, String detectedBy, long eventId, Instant recordedAt) {}

    /** A sell request a Spend Card event named, for the reconciler to watch. */
    record WatchedSellRequest(String id, String userUuid) {}

    /** A verified body kept verbatim for replay. */
    record Quarantined(long callbackId, Callback.Route route, byte[] body, String reason) {}

    /**
     * Another writer created a transaction's state row between our lock and our write: the whole
     * database transaction is rolled back and run again, and then finds the row.
     */
    static final class ConcurrentStateCreation extends Transactions.ConcurrentWriteException {
        ConcurrentStateCreation(String transactionId) {
            super("the state of transaction " + transactionId + " was created concurrently");
        }
    }

    final DSLContext tx;
    final List<Transition> transitions = new ArrayList<>();
    final List<OutboxMessage> outbox = new ArrayList<>();
    final List<WatchedSellRequest> watched = new ArrayList<>();
    final List<Quarantined> quarantined = new ArrayList<>();
    /** Callback ids whose outcome is not the inserted {@code accepted}, by their stored outcome. */
    private final Map<String, List<Long>> outcomes = new HashMap<>();
    /** Null: lock each state row when it is needed (one API read or quarantine replay). */
    private Map<String, TransactionStateRecord> locked;
    /** The state rows to write, in the order they were first changed. */
    private final Map<String, TransactionStateRecord> dirty = new LinkedHashMap<>();
    private final Set<String> created = new HashSet<>();

    WriteUnit(DSLContext tx) {
        this.tx = tx;
    }

    /** Locks the state rows of these transactions, in id order, with one statement. */
    void lockAll(List<String> sortedIds) {
        locked = new HashMap<>();
        if (sortedIds.isEmpty()) {
            return;
        }
        for (TransactionStateRecord r : tx.selectFrom(TRANSACTION_STATE)
                .where(TRANSACTION_STATE.TRANSACTION_ID.eq(DSL.any(sortedIds.toArray(String[]::new))))
                .orderBy(TRANSACTION_STATE.TRANSACTION_ID)
                .forUpdate()
                .fetch()) {
            locked.put(r.getTransactionId(), r);
        }
    }

    /** The locked state row (as changed so far in this unit), or null when the transaction has none yet. */
    TransactionStateRecord lock(String transactionId) {
        TransactionStateRecord changed = dirty.get(transactionId);
        if (changed != null) {
            return changed;
        }
        if (locked == null) {
            return lockState(tx, transactionId);
        }
        return locked.get(transactionId);
    }

    /** A state row this unit creates; written by {@link #flush()}. */
    void created(TransactionStateRecord state) {
        created.add(state.getTransactionId());
        dirty.put(state.getTransactionId(), state);
    }

    /** A locked state row this unit changed; written by {@link #flush()}. */
    void changed(TransactionStateRecord state) {
        dirty.putIfAbsent(state.getTransactionId(), state);
    }

    void outcome(long callbackId, Outcome outcome) {
        String stored = switch (outcome) {
            case DUPLICATE -> "duplicate";
            case QUARANTINED -> "quarantined";
            case ACCEPTED, STALE, CONFLICT -> null;
        };
        if (stored != null) {
            outcomes.computeIfAbsent(stored, k -> new ArrayList<>()).add(callbackId);
        }
    }

    void flush() {
        writeStates();
        for (List<Transition> chunk : chunks(transitions)) {
            var insert = tx.insertInto(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID, STATUS_TRANSITION.SEQUENCE,
                    STATUS_TRANSITION.PREVIOUS_STATUS, STATUS_TRANSITION.STATUS, STATUS_TRANSITION.FINAL,
                    STATUS_TRANSITION.STATUS_CHANGED_AT, STATUS_TRANSITION.DETECTED_BY, STATUS_TRANSITION.EVENT_ID,
                    STATUS_TRANSITION.RECORDED_AT);
            for (Transition t : chunk) {
                insert = insert.values(t.transactionId(), t.sequence(), t.previousStatus(), t.status(), t.isFinal(),
                        t.changedAt(), t.detectedBy(), t.eventId(), t.recordedAt());
            }
            insert.execute();
        }
        Outbox.appendAll(tx, outbox);
        for (List<WatchedSellRequest> chunk : chunks(watched)) {
            var insert = tx.insertInto(WATCHED_SELL_REQUEST, WATCHED_SELL_REQUEST.ID, WATCHED_SELL_REQUEST.USER_UUID,
                    WATCHED_SELL_REQUEST.SOURCE);
            for (WatchedSellRequest w : chunk) {
                insert = insert.values(w.id(), w.userUuid(), "spend_card_event");
            }
            insert.onConflictDoNothing().execute();
        }
        for (List<Quarantined> chunk : chunks(quarantined)) {
            var insert = tx.insertInto(QUARANTINE, QUARANTINE.CALLBACK_ID, QUARANTINE.ROUTE, QUARANTINE.BODY,
                    QUARANTINE.REASON);
            for (Quarantined q : chunk) {
                insert = insert.values(q.callbackId(), q.route().dbValue(), q.body(), q.reason());
            }
            insert.execute();
        }
        outcomes.forEach((outcome, ids) -> tx.update(CALLBACK)
                .set(CALLBACK.OUTCOME, outcome)
                .where(CALLBACK.ID.eq(DSL.any(ids.toArray(Long[]::new))))
                // The rows were inserted by this database transaction with received_at's
                // default, now(): naming it lets PostgreSQL look in one partition only.
                .and(CALLBACK.RECEIVED_AT.eq(DSL.currentInstant()))
                .execute());
        transitions.clear();
        outbox.clear();
        watched.clear();
        quarantined.clear();
        outcomes.clear();
        if (locked != null) {
            locked.putAll(dirty);
        }
        dirty.clear();
        created.clear();
    }

    /**
     * Every changed or created state row in one upsert. A row this unit created must really be
     * new: if another writer inserted it since our lock, the upsert would overwrite that writer's
     * state, so the whole database transaction is rolled back instead and run again.
     */
    private void writeStates() {
        if (dirty.isEmpty()) {
            return;
        }
        List<Field<?>> columns = Arrays.stream(TRANSACTION_STATE.fields())
                .filter(f -> !f.equals(TRANSACTION_STATE.FIRST_SEEN_AT))
                .toList();
        for (List<TransactionStateRecord> chunk : chunks(new ArrayList<>(dirty.values()))) {
            var insert = tx.insertInto(TRANSACTION_STATE, columns);
            for (TransactionStateRecord r : chunk) {
                List<Object> values = new ArrayList<>(columns.size());
                for (Field<?> f : columns) {
                    values.add(r.get(f));
                }
                insert = insert.values(values);
            }
            Map<Field<?>, Field<?>> fromExcluded = new LinkedHashMap<>();
            for (Field<?> f : columns) {
                if (!f.equals(TRANSACTION_STATE.TRANSACTION_ID)) {
                    fromExcluded.put(f, DSL.excluded(f));
                }
            }
            var upsert = insert.onConflict(TRANSACTION_STATE.TRANSACTION_ID).doUpdate().set(fromExcluded);
            Field<Boolean> inserted = DSL.field("(xmax = 0)", Boolean.class);
            for (Record2<String, Boolean> row : upsert.returningResult(TRANSACTION_STATE.TRANSACTION_ID, inserted).fetch()) {
                if (created.contains(row.value1()) && !Boolean.TRUE.equals(row.value2())) {
                    throw new ConcurrentStateCreation(row.value1());
                }
            }
        }
    }

    private static <T> List<List<T>> chunks(List<T> rows) {
        List<List<T>> chunks = new ArrayList<>();
        for (int from = 0; from < rows.size(); from += ROWS_PER_STATEMENT) {
            chunks.add(rows.subList(from, Math.min(rows.size(), from + ROWS_PER_STATEMENT)));
        }
        return chunks;
    }

    /** Locks one transaction's state row for the rest of the database transaction; null when it has none. */
    static TransactionStateRecord lockState(DSLContext tx, String transactionId) {
        return tx.selectFrom(TRANSACTION_STATE)
                .where(TRANSACTION_STATE.TRANSACTION_ID.eq(transactionId))
                .forUpdate()
                .fetchOne();
    }
}
