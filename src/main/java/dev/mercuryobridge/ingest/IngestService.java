package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.db.generated.Keys;
import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
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
import java.time.Instant;
import java.util.function.Function;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.CARD_USER;
import static dev.mercuryobridge.db.generated.Tables.WATCHED_SELL_REQUEST;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
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
    private final IngestListener listener;

    public IngestService(DSLContext dsl, Messages messages, IngestListener listener) {
        this.dsl = dsl;
        this.messages = messages;
        this.listener = listener;
    }

    /** Stores a verified callback body; the answer is known only after the commit. */
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
     * A parsed body that PostgreSQL still refuses (the parser's checks should make this
     * impossible) is authentic data all the same: kept verbatim and quarantined, answered 200.
     */
    private Outcome storeOrQuarantine(Callback.Route route, byte[] body, SignatureVerifier.Match match, Parsed parsed) {
        try {
            return store(route, body, match, parsed);
        } catch (RuntimeException e) {
            if (parsed.callback() == null || !DatabaseErrors.isDataException(e)) {
                throw e;
            }
            String state = DatabaseErrors.sqlState(e);
            // Not the exception text: PostgreSQL quotes the offending value, which is callback data.
            log.error("PostgreSQL refused a parsed {} callback (SQLState {}, {}); quarantining it",
                    route.dbValue(), state, e.getClass().getSimpleName());
            return store(route, body, match, new Parsed(null, "PostgreSQL refused to store it (SQLState " + state + ")"));
        }
    }

    private Outcome store(Callback.Route route, byte[] body, SignatureVerifier.Match match, Parsed parsed) {
        return inTransaction(tx -> {
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
                    : record(tx, parsed.callback(), callbackId, DetectedBy.CALLBACK);
            if (o == Outcome.DUPLICATE || o == Outcome.QUARANTINED) {
                tx.update(CALLBACK).set(CALLBACK.OUTCOME, o == Outcome.DUPLICATE ? "duplicate" : "quarantined")
                        .where(CALLBACK.ID.eq(callbackId))
                        .execute();
            }
            return o;
        });
    }

    /** Stores a status report that the reconciler read from Mercuryo's API. */
    public Outcome recordFromReconciler(Callback.Transaction report) {
        return inTransaction(tx -> record(tx, report, null, DetectedBy.RECONCILER));
    }

    /**
     * Runs a callback through the write path inside an open transaction: the entry point for
     * callbacks, quarantine replays and the reconciler alike.
     */
    Outcome record(DSLContext tx, Callback callback, Long callbackId, DetectedBy by) {
        return switch (callback) {
            case Callback.Transaction t -> recordTransaction(tx, t, callbackId, by);
            case Callback.SpendCardEvent e -> recordSpendCardEvent(tx, e, callbackId);
        };
    }

    private Outcome recordTransaction(DSLContext tx, Callback.Transaction t, Long callbackId, DetectedBy by) {
        Long eventId = tx.insertInto(TRANSACTION_EVENT)
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
        if (eventId == null) {
            return Outcome.DUPLICATE;
        }
        if (t.userUuid() != null) {
            JsonNode cardId = t.data().get("card_id");
            learnCardUser(tx, t.userUuid(), t.userEmail(), cardId != null && cardId.isTextual() ? cardId.textValue() : null);
        }

        StateMachine.Report report = new StateMachine.Report(t.type(), t.status(), t.updatedAtTs());
        TransactionStateRecord state = lockState(tx, t.id());
        if (state == null) {
            if (StateMachine.decide(null, report) instanceof StateMachine.Decision.Create c) {
                TransactionStateRecord created = tx.newRecord(TRANSACTION_STATE);
                created.setTransactionId(t.id());
                created.setStatus(t.status());
                created.setStatusRank(c.rank());
                created.setFinal(c.isFinal());
                created.setLastSequence(1);
                applyDetails(created, t, by);
                int inserted = tx.insertInto(TRANSACTION_STATE).set(created).onConflictDoNothing().execute();
                if (inserted == 1) {
                    appendTransition(tx, created, null, eventId, by);
                    return Outcome.ACCEPTED;
                }
            }
            // Another report of this transaction created the state concurrently and has
            // committed (the insert waited for it): decide against what it stored.
            state = lockState(tx, t.id());
        }
        StateMachine.Decision decision = StateMachine.decide(new StateMachine.Current(
                state.getTransactionType(), state.getStatus(), state.getUpdatedAtTs(),
                state.getFinal(), state.getLastSequence()), report);

        return switch (decision) {
            case StateMachine.Decision.Create c ->
                    throw new IllegalStateException("a stored transaction cannot be created again");
            case StateMachine.Decision.Advance a -> {
                state.setStatus(t.status());
                state.setStatusRank(a.rank());
                state.setFinal(a.isFinal());
                state.setLastSequence(a.sequence());
                state.setLastChangedAt(Instant.now());
                applyDetails(state, t, by);
                state.update();
                appendTransition(tx, state, a.previousStatus(), eventId, by);
                yield Outcome.ACCEPTED;
            }
            case StateMachine.Decision.Refresh r -> {
                applyDetails(state, t, by);
                state.update();
                yield Outcome.ACCEPTED;
            }
            case StateMachine.Decision.Ignore i -> {
                log.debug("transaction {}: report {}@{} changes nothing ({})", t.id(), t.status(), t.updatedAtTs(), i.reason());
                yield Outcome.STALE;
            }
            case StateMachine.Decision.Conflict c -> {
                log.warn("transaction {}: final status {} reported after final status {}; kept as a finding",
                        t.id(), c.reportedFinal(), c.storedFinal());
                raiseFinding(tx, new Finding("final_status_conflict", t.id(), c.storedFinal(), c.reportedFinal(), by,
                        "{\"transaction_event_id\":" + eventId + "}", null, false));
                yield Outcome.CONFLICT;
            }
        };
    }

    private static TransactionStateRecord lockState(DSLContext tx, String transactionId) {
        return tx.selectFrom(TRANSACTION_STATE)
                .where(TRANSACTION_STATE.TRANSACTION_ID.eq(transactionId))
                .forUpdate()
                .fetchOne();
    }

    /** Copies what a report says about the transaction; fields it omits keep their stored value. */
    private static void applyDetails(TransactionStateRecord s, Callback.Transaction t, DetectedBy by) {
        s.setUpdatedAtTs(t.updatedAtTs());
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

    /** The transition row and its outbox message, from the state as just written. */
    private void appendTransition(DSLContext tx, TransactionStateRecord s, String previousStatus, long eventId, DetectedBy by) {
        Instant changedAt = Instant.ofEpochSecond(s.getUpdatedAtTs());
        tx.insertInto(STATUS_TRANSITION)
                .set(STATUS_TRANSITION.TRANSACTION_ID, s.getTransactionId())
                .set(STATUS_TRANSITION.SEQUENCE, s.getLastSequence())
                .set(STATUS_TRANSITION.PREVIOUS_STATUS, previousStatus)
                .set(STATUS_TRANSITION.STATUS, s.getStatus())
                .set(STATUS_TRANSITION.FINAL, s.getFinal())
                .set(STATUS_TRANSITION.STATUS_CHANGED_AT, changedAt)
                .set(STATUS_TRANSITION.DETECTED_BY, by.dbValue())
                .set(STATUS_TRANSITION.EVENT_ID, eventId)
                .execute();
        Outbox.append(tx, messages.transition(new Messages.Transition(
                s.getTransactionId(), s.getMerchantTransactionId(), s.getTransactionType(), s.getPaymentMethod(),
                previousStatus, s.getStatus(), s.getFinal(), s.getAmount(), s.getCurrency(), s.getFiatAmount(),
                s.getFiatCurrency(), s.getFee(), s.getPartnerFee(), s.getRate(), s.getUserUuid(),
                changedAt, by.dbValue(), s.getLastSequence())));
    }

    /**
     * Stores a finding once (by kind, subject and actual value) and announces it on the
     * reconciliation topic in the same transaction. Returns true when it is new.
     */
    public boolean raiseFinding(DSLContext tx, Finding finding) {
        return tx.insertInto(FINDING)
                .set(FINDING.KIND, finding.kind())
                .set(FINDING.SUBJECT, finding.subject())
                .set(FINDING.EXPECTED, finding.expected())
                .set(FINDING.ACTUAL, finding.actual())
                .set(FINDING.DETECTED_BY, finding.detectedBy().dbValue())
                .set(FINDING.DETAIL, finding.detailJson() == null ? null : JSONB.valueOf(finding.detailJson()))
                .set(FINDING.RUN_ID, finding.runId())
                .set(FINDING.RESOLVED_AT, finding.resolvedOnDetection() ? DSL.currentInstant() : null)
                .onConflictDoNothing()
                .returning(FINDING.ID, FINDING.DETECTED_AT)
                .fetchOptional()
                .map(f -> {
                    Outbox.append(tx, messages.finding(new Messages.Finding(f.getId(), finding.kind(), finding.subject(),
                            finding.expected(), finding.actual(), finding.detectedBy().dbValue(), f.getDetectedAt())));
                    return true;
                })
                .orElse(false);
    }

    /** A finding to raise: what disagrees, where, and whether raising it also settled it. */
    public record Finding(String kind, String subject, String expected, String actual, DetectedBy detectedBy,
                          String detailJson, Long runId, boolean resolvedOnDetection) {}

    /**
     * Applies a status the reconciler read from Mercuryo's API through the same path as a
     * callback, and raises the missed callback as a finding, in one transaction. The finding is
     * resolved at once: the state is corrected by this very write.
     */
    public Outcome recordMissedStatus(Callback.Transaction report, String storedStatus, long runId) {
        return inTransaction(tx -> {
            Outcome outcome = record(tx, report, null, DetectedBy.RECONCILER);
            if (outcome == Outcome.ACCEPTED) {
                raiseFinding(tx, new Finding("missed_callback", report.id(), report.status(), storedStatus,
                        DetectedBy.RECONCILER, "{\"run_id\":" + runId + "}", runId, true));
            }
            return outcome;
        });
    }

    private static void learnCardUser(DSLContext tx, String userUuid, String email, String cardId) {
        tx.insertInto(CARD_USER)
                .set(CARD_USER.USER_UUID, userUuid)
                .set(CARD_USER.EMAIL, email)
                .set(CARD_USER.CARD_ID, cardId)
                .set(CARD_USER.SOURCE, "callback")
                .onConflict(CARD_USER.USER_UUID)
                .doUpdate()
                .set(CARD_USER.EMAIL, DSL.coalesce(CARD_USER.EMAIL, DSL.excluded(CARD_USER.EMAIL)))
                .set(CARD_USER.CARD_ID, DSL.coalesce(DSL.excluded(CARD_USER.CARD_ID), CARD_USER.CARD_ID))
                .set(CARD_USER.UPDATED_AT, DSL.currentInstant())
                // Only when something is learned: most callbacks repeat what is known.
                .where(CARD_USER.EMAIL.isNull().and(DSL.excluded(CARD_USER.EMAIL).isNotNull())
                        .or(DSL.excluded(CARD_USER.CARD_ID).isNotNull()
                                .and(CARD_USER.CARD_ID.isDistinctFrom(DSL.excluded(CARD_USER.CARD_ID)))))
                .execute();
    }

    private Outcome recordSpendCardEvent(DSLContext tx, Callback.SpendCardEvent e, Long callbackId) {
        if (callbackId == null) {
            throw new IllegalArgumentException("a Spend Card event always comes from a callback");
        }
        Instant receivedAt = Instant.now();
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
        if (e.userUuid() != null) {
            learnCardUser(tx, e.userUuid(), e.body().path("user").path("email").textValue(), e.cardId());
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
        Outbox.append(tx, messages.spendCardEvent(new Messages.SpendCardEvent(
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
                // timeout: the database is down and the caller should answer 503 now. Retrying
                // is safe because the write path is idempotent.
                boolean retry = DatabaseErrors.isRetryable(e) || DatabaseErrors.isBrokenConnection(e);
                if (attempt >= MAX_ATTEMPTS || !retry) {
                    throw e;
                }
                log.info("transaction aborted by the database ({}), attempt {} of {}", e.getMessage(), attempt, MAX_ATTEMPTS);
            }
        }
    }

    record Parsed(Callback callback, String invalidReason) {}

    private static Parsed parse(Callback.Route route, byte[] body) {
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
