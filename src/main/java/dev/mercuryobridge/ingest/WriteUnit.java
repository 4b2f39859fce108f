package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.Transactions;
import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.outbox.Outbox;
import dev.mercuryobridge.outbox.OutboxMessage;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.impl.DSL;
import org.postgresql.PGStatement;
import org.postgresql.util.PSQLException;

import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

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
        ConcurrentStateCreation(String transactionIds) {
            super("the state of transaction " + transactionIds + " was created concurrently");
        }
    }

    private static final List<Field<?>> STATE_FIELDS = List.of(TRANSACTION_STATE.fields());
    private static final String LOCK_STATES = "select " + BatchSql.names(STATE_FIELDS)
            + " from transaction_state where transaction_id = any(?::text[]) order by transaction_id for update";
    /** Every column but first_seen_at, which keeps the default of the row's first insert. */
    private static final List<Field<?>> UPSERT_FIELDS = STATE_FIELDS.stream()
            .filter(f -> !f.equals(TRANSACTION_STATE.FIRST_SEEN_AT)).toList();
    private static final String UPSERT_STATES = "insert into transaction_state (" + BatchSql.names(UPSERT_FIELDS)
            + ") select * from " + BatchSql.unnest(UPSERT_FIELDS)
            + " on conflict (transaction_id) do update set "
            + UPSERT_FIELDS.stream().filter(f -> !f.equals(TRANSACTION_STATE.TRANSACTION_ID))
                    .map(f -> f.getName() + " = excluded." + f.getName()).collect(Collectors.joining(", "))
            + " returning transaction_id, (xmax = 0)";
    private static final List<Field<?>> TRANSITION_FIELDS = List.of(STATUS_TRANSITION.TRANSACTION_ID,
            STATUS_TRANSITION.SEQUENCE, STATUS_TRANSITION.PREVIOUS_STATUS, STATUS_TRANSITION.STATUS,
            STATUS_TRANSITION.FINAL, STATUS_TRANSITION.STATUS_CHANGED_AT, STATUS_TRANSITION.DETECTED_BY,
            STATUS_TRANSITION.EVENT_ID, STATUS_TRANSITION.RECORDED_AT);
    private static final String INSERT_TRANSITIONS = "insert into status_transition (" + BatchSql.names(TRANSITION_FIELDS)
            + ") select * from " + BatchSql.unnest(TRANSITION_FIELDS);

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
    /** Outbox rows this unit appended, its findings' announcements included. */
    private int appended;

    WriteUnit(DSLContext tx) {
        this.tx = tx;
    }

    /** Locks the state rows of these transactions, in id order, with one statement. */
    void lockAll(List<String> sortedIds) {
        locked = new HashMap<>();
        if (sortedIds.isEmpty()) {
            return;
        }
        Result<Record> rows = BatchSql.run(tx, LOCK_STATES, (c, ps) -> {
            // Planned for its own ids every time, never from a cached generic plan: one made while
            // the table was small scans it whole (auto_explain under make bench-ingest: a seq scan
            // past 15,000 rows, 20-70 ms a batch, until autovacuum's next analyze).
            ps.unwrap(PGStatement.class).setPrepareThreshold(0);
            ps.setArray(1, c.createArrayOf("text", sortedIds.toArray(String[]::new)));
            try (ResultSet rs = ps.executeQuery()) {
                return tx.fetch(rs, STATE_FIELDS.toArray(Field[]::new));
            }
        });
        for (Record row : rows) {
            TransactionStateRecord r = row.into(TRANSACTION_STATE);
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

    /** A finding raised in this unit: its announcement, if any, is an outbox row. */
    void appended(Findings.Raised raised) {
        if (raised.announced()) {
            appended++;
        }
    }

    /** How many outbox rows this unit appended so far: the caller signals the relays after its commit when any. */
    int appended() {
        return appended;
    }

    void flush() {
        writeStatesTransitionsAndOutbox();
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
     * Every changed or created state row in one upsert, the transitions in one insert and the
     * outbox messages in one insert ({@link Outbox#appendSql()}, in the order they were decided),
     * sent together in one round trip. A row this unit created must really be new: if another
     * writer inserted it since our lock, the upsert would overwrite that writer's state, so the
     * whole database transaction is rolled back instead and run again.
     */
    private void writeStatesTransitionsAndOutbox() {
        List<String> statements = new ArrayList<>(3);
        if (!dirty.isEmpty()) statements.add(UPSERT_STATES);
        if (!transitions.isEmpty()) statements.add(INSERT_TRANSITIONS);
        if (!outbox.isEmpty()) statements.add(Outbox.appendSql());
        if (statements.isEmpty()) {
            return;
        }
        int outboxStatement = outbox.isEmpty() ? -1 : statements.size() - 1;
        List<String> overwritten = BatchSql.run(tx, String.join(";\n", statements), (c, ps) -> {
            int parameter = 1;
            if (!dirty.isEmpty()) {
                BatchSql.Columns states = new BatchSql.Columns(UPSERT_FIELDS, dirty.size());
                int row = 0;
                for (TransactionStateRecord r : dirty.values()) {
                    for (int col = 0; col < UPSERT_FIELDS.size(); col++) {
                        states.set(row, col, r.get(UPSERT_FIELDS.get(col)));
                    }
                    row++;
                }
                states.bind(c, ps, parameter);
                parameter += UPSERT_FIELDS.size();
            }
            if (!transitions.isEmpty()) {
                BatchSql.Columns rows = new BatchSql.Columns(TRANSITION_FIELDS, transitions.size());
                for (int row = 0; row < transitions.size(); row++) {
                    Transition t = transitions.get(row);
                    Object[] values = {t.transactionId(), t.sequence(), t.previousStatus(), t.status(), t.isFinal(),
                            t.changedAt(), t.detectedBy(), t.eventId(), t.recordedAt()};
                    for (int col = 0; col < values.length; col++) {
                        rows.set(row, col, values[col]);
                    }
                }
                rows.bind(c, ps, parameter);
                parameter += TRANSITION_FIELDS.size();
            }
            if (!outbox.isEmpty()) {
                Outbox.bindAppend(c, ps, parameter, outbox);
            }
            List<String> notNew = new ArrayList<>();
            boolean rows;
            try {
                rows = ps.execute();
            } catch (PSQLException e) {
                // Sent in the same round trip, the transitions are inserted before the upsert's rows
                // are read: a transition number taken by another writer means a state row created
                // concurrently (existing rows are locked), and the whole transaction runs again.
                if (!created.isEmpty() && "23505".equals(e.getSQLState()) && e.getServerErrorMessage() != null
                        && "status_transition_sequence".equals(e.getServerErrorMessage().getConstraint())) {
                    throw new ConcurrentStateCreation(String.join(", ", created));
                }
                throw e;
            }
            // One result per statement, in their order: the upsert's rows, then update counts.
            for (int statement = 0; statement < statements.size(); statement++) {
                if (statement > 0) {
                    rows = ps.getMoreResults();
                }
                if (rows) {
                    try (ResultSet rs = ps.getResultSet()) {
                        while (rs.next()) {
                            if (created.contains(rs.getString(1)) && !rs.getBoolean(2)) {
                                notNew.add(rs.getString(1));
                            }
                        }
                    }
                } else if (statement == outboxStatement) {
                    appended += ps.getUpdateCount();
                }
            }
            return notNew;
        });
        if (!overwritten.isEmpty()) {
            throw new ConcurrentStateCreation(overwritten.getFirst());
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
