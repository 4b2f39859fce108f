package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
import dev.mercuryobridge.outbox.Outbox;
import dev.mercuryobridge.outbox.OutboxMessage;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;

/**
 * What one database transaction writes beyond the per-callback rows: the state rows it has
 * locked (all at once for a batch, in transaction id order, so writers never deadlock on
 * them), and the transitions and outbox messages, each written as one multi-row statement
 * at the end, in the order they were decided (so the relay reads them in sequence order).
 */
final class WriteUnit {
    private static final int ROWS_PER_STATEMENT = 1_000;

    /** A transition row, written with the others of its database transaction in one statement. */
    record Transition(String transactionId, int sequence, String previousStatus, String status, boolean isFinal,
                      Instant changedAt, String detectedBy, long eventId, Instant recordedAt) {}

    final DSLContext tx;
    final List<Transition> transitions = new ArrayList<>();
    final List<OutboxMessage> outbox = new ArrayList<>();
    /** Null: lock each state row when it is needed (one callback or API read). */
    private Map<String, TransactionStateRecord> locked;

    WriteUnit(DSLContext tx) {
        this.tx = tx;
    }

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

    /** The locked state row, or null when the transaction has none yet. */
    TransactionStateRecord lock(String transactionId) {
        return locked == null ? lockState(tx, transactionId) : locked.get(transactionId);
    }

    void remember(TransactionStateRecord state) {
        if (locked != null && state != null) {
            locked.put(state.getTransactionId(), state);
        }
    }

    void flush() {
        for (int from = 0; from < transitions.size(); from += ROWS_PER_STATEMENT) {
            var insert = tx.insertInto(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID, STATUS_TRANSITION.SEQUENCE,
                    STATUS_TRANSITION.PREVIOUS_STATUS, STATUS_TRANSITION.STATUS, STATUS_TRANSITION.FINAL,
                    STATUS_TRANSITION.STATUS_CHANGED_AT, STATUS_TRANSITION.DETECTED_BY, STATUS_TRANSITION.EVENT_ID,
                    STATUS_TRANSITION.RECORDED_AT);
            for (Transition t : transitions.subList(from, Math.min(transitions.size(), from + ROWS_PER_STATEMENT))) {
                insert = insert.values(t.transactionId(), t.sequence(), t.previousStatus(), t.status(), t.isFinal(),
                        t.changedAt(), t.detectedBy(), t.eventId(), t.recordedAt());
            }
            insert.execute();
        }
        Outbox.appendAll(tx, outbox);
        transitions.clear();
        outbox.clear();
    }

    /** Locks one transaction's state row for the rest of the database transaction; null when it has none. */
    static TransactionStateRecord lockState(DSLContext tx, String transactionId) {
        return tx.selectFrom(TRANSACTION_STATE)
                .where(TRANSACTION_STATE.TRANSACTION_ID.eq(transactionId))
                .forUpdate()
                .fetchOne();
    }
}
