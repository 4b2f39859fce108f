package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
import dev.mercuryobridge.finding.Finding;
import dev.mercuryobridge.finding.FindingKind;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.outbox.Messages;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.function.LongSupplier;

/**
 * Carries out what {@link StateMachine} decides for a new transaction report (a callback or an
 * API read) against the transaction's locked state, in a {@link WriteUnit}: a new state and
 * transition 1, an advance with the next transition and its outbox message, a refresh of the
 * details, nothing, or a conflict raised as a finding. The same code for callbacks and API
 * reads, so both follow the same rules.
 */
final class TransactionUpdates {
    private static final Logger log = LoggerFactory.getLogger(TransactionUpdates.class);

    private final Messages messages;
    private final Findings findings;
    private final Clock clock;

    TransactionUpdates(Messages messages, Findings findings, Clock clock) {
        this.messages = messages;
        this.findings = findings;
        this.clock = clock;
    }

    /** Detail of a conflicting final status: the event that reported it (null for an API read). */
    record ConflictDetail(Long transactionEventId) {}

    /**
     * Decides a new report (its event is new) against the transaction's locked state and carries
     * the decision out. {@code eventId} inserts or names the event; it is called only when the
     * report changes something, so an API read that changes nothing writes nothing.
     */
    Outcome decide(WriteUnit u, Callback.Transaction t, DetectedBy by, LongSupplier eventId) {
        TransactionStateRecord state = u.lock(t.id());
        return state == null ? create(u, t, by, eventId) : apply(u, t, state, by, eventId);
    }

    /**
     * The first report of a transaction: its state and transition number 1. Should another
     * writer create the state meanwhile, {@link WriteUnit#flush()} notices and the database
     * transaction runs again.
     */
    private Outcome create(WriteUnit u, Callback.Transaction t, DetectedBy by, LongSupplier eventId) {
        StateMachine.Decision.Create c = (StateMachine.Decision.Create) StateMachine.decide(null, report(t));
        // Detached: WriteUnit writes it with its own statement, nothing stores it through jOOQ.
        TransactionStateRecord created = new TransactionStateRecord();
        created.setTransactionId(t.id());
        created.setStatus(t.status());
        created.setStatusRank(c.rank());
        created.setFinal(c.isFinal());
        created.setLastSequence(1);
        created.setLastChangedAt(clock.instant());
        applyDetails(created, t, by);
        u.created(created);
        appendTransition(u, created, null, eventId.getAsLong(), by, t.updatedAtTs());
        return Outcome.ACCEPTED;
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
                u.changed(state);
                appendTransition(u, state, a.previousStatus(), event, by, t.updatedAtTs());
                yield Outcome.ACCEPTED;
            }
            case StateMachine.Decision.Refresh r -> {
                applyDetails(state, t, by);
                u.changed(state);
                yield Outcome.ACCEPTED;
            }
            case StateMachine.Decision.Ignore i -> {
                log.atDebug().addKeyValue("transaction_id", t.id()).addKeyValue("reason", i.reason())
                        .log("transaction {}: report {}@{} changes nothing ({})", t.id(), t.status(), t.updatedAtTs(), i.reason());
                yield i.reason() == StateMachine.Reason.SAME_STATUS ? Outcome.DUPLICATE : Outcome.STALE;
            }
            case StateMachine.Decision.Conflict c -> {
                log.atWarn().addKeyValue("transaction_id", t.id()).addKeyValue("outcome", Outcome.CONFLICT.label())
                        .log("transaction {}: final status {} reported after final status {}; kept as a finding",
                                t.id(), c.reportedFinal(), c.storedFinal());
                Long event = by == DetectedBy.CALLBACK ? eventId.getAsLong() : null;
                u.appended(findings.raise(tx, new Finding(FindingKind.FINAL_STATUS_CONFLICT, t.id(), c.storedFinal(),
                        c.reportedFinal(), by.dbValue(), new ConflictDetail(event), null, false)));
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
                previousStatus, s.getStatus(), s.getFinal(), Messages.plain(s.getAmount()), s.getCurrency(),
                Messages.plain(s.getFiatAmount()), s.getFiatCurrency(), Messages.plain(s.getFee()),
                Messages.plain(s.getPartnerFee()), Messages.plain(s.getRate()), s.getUserUuid(),
                changedAt, observedAt, by.dbValue(), s.getLastSequence())));
    }
}
