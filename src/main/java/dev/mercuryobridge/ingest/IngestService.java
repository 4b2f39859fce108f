package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.db.generated.Keys;
import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
import dev.mercuryobridge.finding.Finding;
import dev.mercuryobridge.finding.FindingKind;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.http.Json;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.outbox.Outbox;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongSupplier;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.WATCHED_SELL_REQUEST;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.db.generated.Tables.SPEND_CARD_EVENT;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_EVENT;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;

/**
 * The one write path. Everything one callback causes (its verbatim copy, the deduplicated event,
 * the state change, the transition and, for a conflict, the finding) is written in a single
 * database transaction, so a 200 always means all of it is committed and a failure means none.
 *
 * <p>Idempotency comes from unique constraints ({@code ON CONFLICT DO NOTHING}), never from a
 * read-then-insert, so concurrent copies of one callback cannot both take effect. The state row
 * is locked ({@code FOR UPDATE}) while it is compared and moved, so two different reports of
 * one transaction are applied one after the other and sequence numbers never repeat or skip.
 */
public final class IngestService {
    private static final Logger log = LoggerFactory.getLogger(IngestService.class);
    private static final int MAX_ATTEMPTS = 3;

    private final DSLContext dsl;
    private final Messages messages;
    private final Findings findings;
    private final IngestListener listener;
    private final Clock clock;

    public IngestService(DSLContext dsl, Messages messages, IngestListener listener, Clock clock) {
        this.dsl = dsl;
        this.messages = messages;
        this.findings = new Findings(messages);
        this.listener = listener;
        this.clock = clock;
    }

    /** Stores a verified callback body alone, in its own transaction; the answer is known only after the commit. */
    public Outcome ingest(Callback.Route route, byte[] body, SignatureVerifier.Match match) {
        return ingest(route, body, match, parse(route, body));
    }

    /** The write path for a body already parsed (tests hand it what the parser should never let through). */
    Outcome ingest(Callback.Route route, byte[] body, SignatureVerifier.Match match, Parsed parsed) {
        Outcome outcome;
        try {
            outcome = storeOrQuarantine(route, body, match, parsed);
        } catch (RuntimeException e) {
            listener.failed(route, e);
            throw e;
        }
        listener.stored(route, outcome);
        return outcome;
    }

    /**
     * Group commit: stores a batch of verified callbacks in ONE database transaction, in the
     * order given (so reports of one transaction are applied exactly as if one by one: the same
     * dedupe, state machine and gapless sequence), then completes each item with its own
     * outcome after the commit.
     *
     * <p>If the batch fails for anything but an unavailable database, each item is retried
     * alone, so one bad item never fails the rest; an item that still fails alone is authentic
     * data (it verified), so its raw body is stored and quarantined with the error as reason.
     * An unavailable database fails every item (the caller answers 503; Mercuryo retries). A
     * lock or statement timeout fails a batch of one at once; a larger batch is retried item by
     * item, so the callbacks that do not touch the stuck row are stored and only the stuck one
     * fails (503 with {@code Retry-After}), after waiting for the lock once more.
     */
    void storeBatch(List<IngestQueue.Pending> batch) {
        List<Outcome> outcomes;
        try {
            outcomes = inTransaction(tx -> {
                WriteUnit u = new WriteUnit(tx);
                u.lockAll(batch.stream()
                        .map(p -> p.parsed().callback() instanceof Callback.Transaction t ? t.id() : null)
                        .filter(java.util.Objects::nonNull).sorted().distinct().toList());
                List<Outcome> out = new ArrayList<>(batch.size());
                for (IngestQueue.Pending p : batch) {
                    out.add(store(u, p.route(), p.body(), p.match(), p.parsed()));
                }
                u.flush();
                return out;
            });
        } catch (RuntimeException e) {
            if (DatabaseErrors.isUnavailable(e) || (batch.size() == 1 && DatabaseErrors.isTimeout(e))) {
                batch.forEach(p -> fail(p, e));
                return;
            }
            if (batch.size() > 1) {
                // Not the exception text: PostgreSQL may quote a value, which is callback data.
                log.warn("a batch of {} callbacks failed ({}, SQLState {}); storing each alone", batch.size(),
                        e.getClass().getSimpleName(), DatabaseErrors.sqlState(e));
            }
            batch.forEach(this::storeAlone);
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            IngestQueue.Pending p = batch.get(i);
            listener.stored(p.route(), outcomes.get(i));
            p.result().complete(outcomes.get(i));
        }
    }

    private void storeAlone(IngestQueue.Pending p) {
        Outcome outcome;
        try {
            outcome = storeInOwnTransaction(p.route(), p.body(), p.match(), p.parsed());
        } catch (RuntimeException e) {
            // A timeout is not the callback's fault: not quarantined, answered 503 and retried by Mercuryo.
            if (DatabaseErrors.isUnavailable(e) || DatabaseErrors.isTimeout(e)) {
                fail(p, e);
                return;
            }
            String reason = "could not be stored: " + rootMessage(e);
            try {
                outcome = storeInOwnTransaction(p.route(), p.body(), p.match(), new Parsed(null, reason));
            } catch (RuntimeException e2) {
                e2.addSuppressed(e);
                fail(p, e2);
                return;
            }
        }
        listener.stored(p.route(), outcome);
        p.result().complete(outcome);
    }

    private void fail(IngestQueue.Pending p, RuntimeException e) {
        listener.failed(p.route(), e);
        p.result().completeExceptionally(e);
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return m.length() > 500 ? m.substring(0, 500) : m;
    }

    /**
     * A parsed body that PostgreSQL still refuses (the parser's checks should make this
     * impossible) is authentic data all the same: kept verbatim and quarantined, answered 200.
     */
    private Outcome storeOrQuarantine(Callback.Route route, byte[] body, SignatureVerifier.Match match, Parsed parsed) {
        try {
            return storeInOwnTransaction(route, body, match, parsed);
        } catch (RuntimeException e) {
            if (parsed.callback() == null || !DatabaseErrors.isDataException(e)) {
                throw e;
            }
            String state = DatabaseErrors.sqlState(e);
            // Not the exception text: PostgreSQL quotes the offending value, which is callback data.
            log.error("PostgreSQL refused a parsed {} callback (SQLState {}, {}); quarantining it",
                    route.dbValue(), state, e.getClass().getSimpleName());
            return storeInOwnTransaction(route, body, match,
                    new Parsed(null, "PostgreSQL refused to store it (SQLState " + state + ")"));
        }
    }

    private Outcome storeInOwnTransaction(Callback.Route route, byte[] body, SignatureVerifier.Match match, Parsed parsed) {
        return inTransaction(tx -> {
            WriteUnit u = new WriteUnit(tx);
            Outcome o = store(u, route, body, match, parsed);
            u.flush();
            return o;
        });
    }

    private Outcome store(WriteUnit u, Callback.Route route, byte[] body, SignatureVerifier.Match match, Parsed parsed) {
        {
            DSLContext tx = u.tx;
            long callbackId = tx.insertInto(CALLBACK)
                    .set(CALLBACK.ROUTE, route.dbValue())
                    .set(CALLBACK.BODY, body)
                    .set(CALLBACK.BODY_SHA256, sha256(body))
                    .set(CALLBACK.SIGNATURE_KEY, match.keyFingerprint())
                    .set(CALLBACK.SIGNATURE_VARIANT, match.variant().dbValue())
                    .set(CALLBACK.OUTCOME, "accepted")
                    .set(CALLBACK.TRANSACTION_ID, parsed.callback() instanceof Callback.Transaction t ? t.id() : null)
                    .set(CALLBACK.EVENT_ID, parsed.callback() instanceof Callback.SpendCardEvent e ? e.eventId() : null)
                    .returning(CALLBACK.ID)
                    .fetchSingle(CALLBACK.ID);
            Outcome o = parsed.callback() == null
                    ? quarantine(tx, callbackId, route, body, parsed.invalidReason())
                    : record(u, parsed.callback(), callbackId, DetectedBy.CALLBACK);
            if (o == Outcome.DUPLICATE || o == Outcome.QUARANTINED) {
                tx.update(CALLBACK).set(CALLBACK.OUTCOME, o == Outcome.DUPLICATE ? "duplicate" : "quarantined")
                        .where(CALLBACK.ID.eq(callbackId))
                        .execute();
            }
            return o;
        }
    }

    /**
     * Runs a callback through the write path inside an open transaction: the entry point for
     * callbacks and quarantine replays alike.
     */
    Outcome record(DSLContext tx, Callback callback, Long callbackId, DetectedBy by) {
        WriteUnit u = new WriteUnit(tx);
        Outcome outcome = record(u, callback, callbackId, by);
        u.flush();
        return outcome;
    }

    private Outcome record(WriteUnit u, Callback callback, Long callbackId, DetectedBy by) {
        return switch (callback) {
            case Callback.Transaction t -> recordCallback(u, t, callbackId, by);
            case Callback.SpendCardEvent e -> recordSpendCardEvent(u, e, callbackId);
        };
    }

    /** What an API read did, and the status we held before it. */
    public record ApiRead(Outcome outcome, String previousStatus) {}

    /**
     * Applies a status the reconciler read from Mercuryo's API ({@code report.updatedAtTs()} is
     * null: the API gives no time) through the same path as a callback. A further status is a
     * callback we missed: the transition is written with {@code detected_by = reconciler} and the
     * missed callback raised as a finding, resolved at once (this very write corrects the state),
     * all in one transaction. A read that changes nothing writes nothing: {@link Outcome#DUPLICATE}
     * for the status we hold, {@link Outcome#STALE} for an earlier one.
     */
    public ApiRead recordApiStatus(Callback.Transaction report, long runId) {
        if (report.updatedAtTs() != null) {
            throw new IllegalArgumentException("an API read carries no Mercuryo time");
        }
        return inTransaction(tx -> {
            WriteUnit u = new WriteUnit(tx);
            TransactionStateRecord state = WriteUnit.lockState(tx, report.id());
            String before = state == null ? null : state.getStatus();
            LongSupplier event = () -> insertEvent(tx, report, null, DetectedBy.RECONCILER);
            Outcome outcome = state == null
                    ? create(u, report, DetectedBy.RECONCILER, event)
                    : apply(u, report, state, DetectedBy.RECONCILER, event);
            u.flush();
            if (outcome == Outcome.ACCEPTED) {
                findings.raise(tx, new Finding(FindingKind.MISSED_CALLBACK, report.id(), report.status(), before,
                        DetectedBy.RECONCILER.dbValue(), new RunRef(runId), runId, true));
            }
            return new ApiRead(outcome, before);
        });
    }

    /** Detail of a finding raised by a reconciliation run. */
    public record RunRef(long runId) {}

    /** Detail of a conflicting final status: the event that reported it (null for an API read). */
    record ConflictDetail(Long transactionEventId) {}

    private Outcome recordCallback(WriteUnit u, Callback.Transaction t, Long callbackId, DetectedBy by) {
        Long eventId = insertEvent(u.tx, t, callbackId, by);
        if (eventId == null) {
            return Outcome.DUPLICATE;
        }
        TransactionStateRecord state = u.lock(t.id());
        return state == null ? create(u, t, by, () -> eventId) : apply(u, t, state, by, () -> eventId);
    }

    /** The deduplicated event; null when the same (id, status, updated_at_ts) was recorded before. */
    private static Long insertEvent(DSLContext tx, Callback.Transaction t, Long callbackId, DetectedBy by) {
        return tx.insertInto(TRANSACTION_EVENT)
                .set(TRANSACTION_EVENT.TRANSACTION_ID, t.id())
                .set(TRANSACTION_EVENT.STATUS, t.status())
                .set(TRANSACTION_EVENT.UPDATED_AT_TS, t.updatedAtTs())
                .set(TRANSACTION_EVENT.CALLBACK_ID, callbackId)
                .set(TRANSACTION_EVENT.DETECTED_BY, by.dbValue())
                .set(TRANSACTION_EVENT.DATA, jsonb(t.data()))
                .onConflictOnConstraint(Keys.TRANSACTION_EVENT_DEDUPE).doNothing()
                .returning(TRANSACTION_EVENT.ID)
                .fetchOptional(TRANSACTION_EVENT.ID)
                .orElse(null);
    }

    /** The first report of a transaction: its state and transition number 1. */
    private Outcome create(WriteUnit u, Callback.Transaction t, DetectedBy by, LongSupplier eventId) {
        DSLContext tx = u.tx;
        StateMachine.Decision.Create c = (StateMachine.Decision.Create) StateMachine.decide(null, report(t));
        TransactionStateRecord created = tx.newRecord(TRANSACTION_STATE);
        created.setTransactionId(t.id());
        created.setStatus(t.status());
        created.setStatusRank(c.rank());
        created.setFinal(c.isFinal());
        created.setLastSequence(1);
        applyDetails(created, t, by);
        if (tx.insertInto(TRANSACTION_STATE).set(created).onConflictDoNothing().execute() == 1) {
            created.changed(false);
            u.remember(created);
            appendTransition(u, created, null, eventId.getAsLong(), by, t.updatedAtTs());
            return Outcome.ACCEPTED;
        }
        // Another report of this transaction created the state concurrently and has committed
        // (the insert waited for it): decide against what it stored.
        TransactionStateRecord stored = WriteUnit.lockState(tx, t.id());
        u.remember(stored);
        return apply(u, t, stored, by, eventId);
    }

    /** Decides a report against the locked state and carries the decision out. */
    private Outcome apply(WriteUnit u, Callback.Transaction t, TransactionStateRecord state, DetectedBy by,
                          LongSupplier eventId) {
        DSLContext tx = u.tx;
        StateMachine.Decision decision = StateMachine.decide(new StateMachine.Current(
                state.getTransactionType(), state.getStatus(), state.getUpdatedAtTs(), state.getFinal(),
                state.getLastSequence(), DetectedBy.RECONCILER.dbValue().equals(state.getLastDetectedBy())), report(t));
        return switch (decision) {
            case StateMachine.Decision.Create c ->
                    throw new IllegalStateException("a stored transaction cannot be created again");
            case StateMachine.Decision.Advance a -> {
                long event = eventId.getAsLong();
                state.setStatus(t.status());
                state.setStatusRank(a.rank());
                state.setFinal(a.isFinal());
                state.setLastSequence(a.sequence());
                state.setLastChangedAt(clock.instant());
                applyDetails(state, t, by);
                state.update();
                appendTransition(u, state, a.previousStatus(), event, by, t.updatedAtTs());
                yield Outcome.ACCEPTED;
            }
            case StateMachine.Decision.Refresh r -> {
                applyDetails(state, t, by);
                state.update();
                yield Outcome.ACCEPTED;
            }
            case StateMachine.Decision.Ignore i -> {
                log.debug("transaction {}: report {}@{} changes nothing ({})", t.id(), t.status(), t.updatedAtTs(), i.reason());
                yield i.reason() == StateMachine.Reason.SAME_STATUS ? Outcome.DUPLICATE : Outcome.STALE;
            }
            case StateMachine.Decision.Conflict c -> {
                log.warn("transaction {}: final status {} reported after final status {}; kept as a finding",
                        t.id(), c.reportedFinal(), c.storedFinal());
                Long event = by == DetectedBy.CALLBACK ? eventId.getAsLong() : null;
                findings.raise(tx, new Finding(FindingKind.FINAL_STATUS_CONFLICT, t.id(), c.storedFinal(), c.reportedFinal(),
                        by.dbValue(), new ConflictDetail(event), null, false));
                yield Outcome.CONFLICT;
            }
        };
    }

    private static StateMachine.Report report(Callback.Transaction t) {
        return new StateMachine.Report(t.type(), t.status(), t.updatedAtTs());
    }


    /**
     * Copies what a report says about the transaction; fields it omits keep their stored value.
     * Only a callback brings Mercuryo's time: an API read leaves {@code updated_at_ts} as it was.
     */
    private static void applyDetails(TransactionStateRecord s, Callback.Transaction t, DetectedBy by) {
        if (t.updatedAtTs() != null) s.setUpdatedAtTs(t.updatedAtTs());
        s.setLastDetectedBy(by.dbValue());
        if (t.type() != null) s.setTransactionType(t.type());
        if (t.paymentMethod() != null) s.setPaymentMethod(t.paymentMethod());
        if (t.createdAtTs() != null) s.setCreatedAtTs(t.createdAtTs());
        if (t.merchantTransactionId() != null) s.setMerchantTransactionId(t.merchantTransactionId());
        if (t.amount() != null) s.setAmount(t.amount());
        if (t.currency() != null) s.setCurrency(t.currency());
        if (t.fiatAmount() != null) s.setFiatAmount(t.fiatAmount());
        if (t.fiatCurrency() != null) s.setFiatCurrency(t.fiatCurrency());
        if (t.fee() != null) s.setFee(t.fee());
        if (t.partnerFee() != null) s.setPartnerFee(t.partnerFee());
        if (t.rate() != null) s.setRate(t.rate());
        if (t.userUuid() != null) s.setUserUuid(t.userUuid());
        if (t.userEmail() != null) s.setUserEmail(t.userEmail());
    }

    /**
     * The transition row and its outbox message, from the state as just written. {@code mercuryoTs}
     * is the report's Mercuryo time: null for an API read, whose transition has only our
     * observation time.
     */
    private void appendTransition(WriteUnit u, TransactionStateRecord s, String previousStatus, long eventId,
                                  DetectedBy by, Long mercuryoTs) {
        Instant changedAt = mercuryoTs == null ? null : Instant.ofEpochSecond(mercuryoTs);
        Instant observedAt = clock.instant();
        u.transitions.add(new WriteUnit.Transition(s.getTransactionId(), s.getLastSequence(), previousStatus, s.getStatus(),
                s.getFinal(), changedAt, by.dbValue(), eventId, observedAt));
        u.outbox.add(messages.transition(new Messages.Transition(
                s.getTransactionId(), s.getMerchantTransactionId(), s.getTransactionType(), s.getPaymentMethod(),
                previousStatus, s.getStatus(), s.getFinal(), s.getAmount(), s.getCurrency(), s.getFiatAmount(),
                s.getFiatCurrency(), s.getFee(), s.getPartnerFee(), s.getRate(), s.getUserUuid(),
                changedAt, observedAt, by.dbValue(), s.getLastSequence())));
    }

    private Outcome recordSpendCardEvent(WriteUnit u, Callback.SpendCardEvent e, Long callbackId) {
        DSLContext tx = u.tx;
        if (callbackId == null) {
            throw new IllegalArgumentException("a Spend Card event always comes from a callback");
        }
        Instant receivedAt = clock.instant();
        int inserted = tx.insertInto(SPEND_CARD_EVENT)
                .set(SPEND_CARD_EVENT.EVENT_ID, e.eventId())
                .set(SPEND_CARD_EVENT.EVENT_NAME, e.eventName())
                .set(SPEND_CARD_EVENT.CARD_ID, e.cardId())
                .set(SPEND_CARD_EVENT.USER_UUID, e.userUuid())
                .set(SPEND_CARD_EVENT.CALLBACK_ID, callbackId)
                .set(SPEND_CARD_EVENT.DATA, jsonb(e.body()))
                .set(SPEND_CARD_EVENT.RECORDED_AT, receivedAt)
                .onConflictDoNothing()
                .execute();
        if (inserted == 0) {
            return Outcome.DUPLICATE;
        }
        JsonNode sellRequestId = e.body().path("sell_request").path("id");
        if (sellRequestId.isTextual() && !sellRequestId.textValue().isBlank()) {
            tx.insertInto(WATCHED_SELL_REQUEST)
                    .set(WATCHED_SELL_REQUEST.ID, sellRequestId.textValue())
                    .set(WATCHED_SELL_REQUEST.USER_UUID, e.userUuid())
                    .set(WATCHED_SELL_REQUEST.SOURCE, "spend_card_event")
                    .onConflictDoNothing()
                    .execute();
        }
        u.outbox.add(messages.spendCardEvent(new Messages.SpendCardEvent(
                e.eventId().toString(), e.eventName(), e.cardId(), e.userUuid(), receivedAt, e.body())));
        return Outcome.ACCEPTED;
    }

    private static Outcome quarantine(DSLContext tx, long callbackId, Callback.Route route, byte[] body, String reason) {
        log.warn("quarantined a signed {} callback (id {}): {}", route.dbValue(), callbackId, reason);
        tx.insertInto(QUARANTINE)
                .set(QUARANTINE.CALLBACK_ID, callbackId)
                .set(QUARANTINE.ROUTE, route.dbValue())
                .set(QUARANTINE.BODY, body)
                .set(QUARANTINE.REASON, reason)
                .execute();
        return Outcome.QUARANTINED;
    }

    /**
     * Runs one unit of work in a transaction, again if PostgreSQL aborted it for a serialization
     * failure or deadlock (safe: nothing of an aborted transaction remains).
     */
    public <T> T inTransaction(Function<DSLContext, T> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return dsl.transactionResult(c -> work.apply(c.dsl()));
            } catch (RuntimeException e) {
                // Retry a deadlock or serialization failure, and a connection that turned out to
                // be dead (e.g. after a database restart) while a new one may be fine. Not a pool
                // timeout: the database is down and the caller should answer 503 now. Not a lock
                // or statement timeout either: the lock or load is still there, so the caller
                // answers 503 and Mercuryo comes back later. Retrying is safe because the write
                // path is idempotent.
                boolean retry = !DatabaseErrors.isTimeout(e)
                        && (DatabaseErrors.isRetryable(e) || DatabaseErrors.isBrokenConnection(e));
                if (attempt >= MAX_ATTEMPTS || !retry) {
                    throw e;
                }
                log.info("transaction aborted by the database ({}), attempt {} of {}", e.getMessage(), attempt, MAX_ATTEMPTS);
            }
        }
    }

    /** A body parsed once, in the request thread: the callback, or why it is quarantined. */
    record Parsed(Callback callback, String invalidReason) {}

    static Parsed parse(Callback.Route route, byte[] body) {
        try {
            return new Parsed(CallbackParser.parse(route, body), null);
        } catch (InvalidCallbackException e) {
            return new Parsed(null, e.getMessage());
        }
    }

    static JSONB jsonb(ObjectNode node) {
        try {
            return JSONB.valueOf(Json.MAPPER.writeValueAsString(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON tree could not be written back", e);
        }
    }

    static byte[] sha256(byte[] body) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(body);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
