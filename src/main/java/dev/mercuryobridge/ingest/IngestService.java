package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.db.Transactions;
import dev.mercuryobridge.db.generated.tables.records.TransactionStateRecord;
import dev.mercuryobridge.finding.Finding;
import dev.mercuryobridge.finding.FindingKind;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.http.RootCause;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.outbox.OutboxSignal;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;


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

    private final Transactions transactions;
    private final TransactionUpdates updates;
    private final Messages messages;
    private final Findings findings;
    private final IngestListener listener;
    private final OutboxSignal outboxSignal;
    private final Clock clock;

    public IngestService(DSLContext dsl, Messages messages, IngestListener listener, Clock clock) {
        this(dsl, messages, listener, OutboxSignal.NONE, clock);
    }

    /** {@code outboxSignal}: told after each commit that appended outbox rows (wakes the relays). */
    public IngestService(DSLContext dsl, Messages messages, IngestListener listener, OutboxSignal outboxSignal, Clock clock) {
        this.outboxSignal = outboxSignal;
        this.transactions = new Transactions(dsl);
        this.messages = messages;
        this.findings = new Findings(messages);
        this.updates = new TransactionUpdates(messages, findings, clock);
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
            outcome = storeOrQuarantine(new CallbackInserts.Item(route, body, match, parsed));
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
            List<CallbackInserts.Item> items = batch.stream().map(IngestQueue.Pending::item).toList();
            outcomes = inTransaction(tx -> store(tx, items));
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
            logStored(p.item(), outcomes.get(i));
            listener.stored(p.item().route(), outcomes.get(i));
            p.result().complete(outcomes.get(i));
        }
    }

    private void storeAlone(IngestQueue.Pending p) {
        Outcome outcome;
        try {
            outcome = storeOrQuarantine(p.item());
        } catch (RuntimeException e) {
            fail(p, e);
            return;
        }
        logStored(p.item(), outcome);
        listener.stored(p.item().route(), outcome);
        p.result().complete(outcome);
    }

    /** Nothing on the happy path by default: at DEBUG, one line per stored callback, with its ids and outcome as fields. */
    private static void logStored(CallbackInserts.Item item, Outcome outcome) {
        if (log.isDebugEnabled()) {
            ids(log.atDebug(), item.parsed().callback()).addKeyValue("route", item.route().dbValue())
                    .addKeyValue("outcome", outcome.label()).log("stored a {} callback: {}", item.route().dbValue(),
                            outcome.label());
        }
    }

    /** The transaction id or Spend Card event id of a callback, as log fields. */
    private static org.slf4j.spi.LoggingEventBuilder ids(org.slf4j.spi.LoggingEventBuilder b, Callback c) {
        return switch (c) {
            case Callback.Transaction t -> b.addKeyValue("transaction_id", t.id());
            case Callback.SpendCardEvent e -> b.addKeyValue("event_id", e.eventId());
            case null -> b;
        };
    }

    private void fail(IngestQueue.Pending p, RuntimeException e) {
        listener.failed(p.item().route(), e);
        p.result().completeExceptionally(e);
    }

    /**
     * Stores one callback in its own transaction. If that fails for anything but an unavailable
     * database (the parser's checks should make it impossible, but PostgreSQL may still refuse a
     * value), the body is authentic data all the same: kept verbatim and quarantined, answered 200.
     */
    private Outcome storeOrQuarantine(CallbackInserts.Item item) {
        try {
            return inTransaction(tx -> store(tx, List.of(item))).getFirst();
        } catch (RuntimeException e) {
            // A timeout is not the callback's fault: not quarantined, answered 503 and retried by Mercuryo.
            if (item.parsed().callback() == null || DatabaseErrors.isUnavailable(e) || DatabaseErrors.isTimeout(e)) {
                throw e;
            }
            // Not the exception text: PostgreSQL quotes the offending value, which is callback data.
            ids(log.atError(), item.parsed().callback()).addKeyValue("route", item.route().dbValue())
                    .addKeyValue("outcome", Outcome.QUARANTINED.label())
                    .log("a parsed {} callback could not be stored ({}, SQLState {}); quarantining it",
                            item.route().dbValue(), e.getClass().getSimpleName(), DatabaseErrors.sqlState(e));
            String reason = DatabaseErrors.isDataException(e)
                    ? "PostgreSQL refused to store it (SQLState " + DatabaseErrors.sqlState(e) + ")"
                    : "could not be stored: " + RootCause.message(e);
            CallbackInserts.Item quarantined = new CallbackInserts.Item(item.route(), item.body(), item.match(),
                    new Parsed(null, reason));
            try {
                return inTransaction(tx -> store(tx, List.of(quarantined))).getFirst();
            } catch (RuntimeException e2) {
                e2.addSuppressed(e);
                throw e2;
            }
        }
    }

    /**
     * The write path of verified callbacks, inside an open transaction: their verbatim copies,
     * events and Spend Card events with one statement each, their state rows locked with one
     * statement, each decided in arrival order, then everything they caused written set-based.
     */
    private Written<List<Outcome>> store(DSLContext tx, List<CallbackInserts.Item> items) {
        WriteUnit u = new WriteUnit(tx);
        CallbackInserts.Inserted inserted = CallbackInserts.callbacksAndEvents(tx, items);
        List<Long> callbackIds = inserted.callbackIds();
        Map<Long, Long> events = inserted.eventByCallback();
        List<Callback.SpendCardEvent> cardEvents = new ArrayList<>();
        List<Long> cardEventCallbacks = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).parsed().callback() instanceof Callback.SpendCardEvent e) {
                cardEvents.add(e);
                cardEventCallbacks.add(callbackIds.get(i));
            }
        }
        Instant receivedAt = clock.instant();
        Set<Long> newCardEvents = CallbackInserts.spendCardEvents(tx, cardEvents, cardEventCallbacks, receivedAt);
        List<String> toLock = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).parsed().callback() instanceof Callback.Transaction t && events.containsKey(callbackIds.get(i))) {
                toLock.add(t.id());
            }
        }
        u.lockAll(toLock.stream().sorted().distinct().toList());
        List<Outcome> outcomes = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            CallbackInserts.Item item = items.get(i);
            long callbackId = callbackIds.get(i);
            Outcome o = switch (item.parsed().callback()) {
                case null -> quarantine(u, callbackId, item);
                case Callback.Transaction t -> {
                    Long eventId = events.get(callbackId);
                    yield eventId == null ? Outcome.DUPLICATE : updates.decide(u, t, DetectedBy.CALLBACK, () -> eventId);
                }
                case Callback.SpendCardEvent e -> newCardEvents.contains(callbackId)
                        ? spendCardEvent(u, e, receivedAt) : Outcome.DUPLICATE;
            };
            u.outcome(callbackId, o);
            outcomes.add(o);
        }
        u.flush();
        return new Written<>(outcomes, u.appended());
    }

    /**
     * Runs a callback through the write path inside an open transaction, for a quarantine
     * replay: its verbatim copy is stored already.
     */
    Written<Outcome> record(DSLContext tx, Callback callback, long callbackId, DetectedBy by) {
        WriteUnit u = new WriteUnit(tx);
        Outcome outcome = switch (callback) {
            case Callback.Transaction t -> {
                Long eventId = CallbackInserts.transactionEvent(tx, t, callbackId, by);
                yield eventId == null ? Outcome.DUPLICATE : updates.decide(u, t, by, () -> eventId);
            }
            case Callback.SpendCardEvent e -> {
                Instant receivedAt = clock.instant();
                yield CallbackInserts.spendCardEvents(tx, List.of(e), List.of(callbackId), receivedAt).isEmpty()
                        ? Outcome.DUPLICATE : spendCardEvent(u, e, receivedAt);
            }
        };
        u.flush();
        return new Written<>(outcome, u.appended());
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
            TransactionStateRecord state = u.lock(report.id());
            String before = state == null ? null : state.getStatus();
            Outcome outcome = updates.decide(u, report, DetectedBy.RECONCILER,
                    () -> CallbackInserts.transactionEvent(tx, report, null, DetectedBy.RECONCILER));
            u.flush();
            if (outcome == Outcome.ACCEPTED) {
                u.appended(findings.raise(tx, new Finding(FindingKind.MISSED_CALLBACK, report.id(), report.status(),
                        before, DetectedBy.RECONCILER.dbValue(), new RunRef(runId), runId, true)));
            }
            return new Written<>(new ApiRead(outcome, before), u.appended());
        });
    }

    /** Detail of a finding raised by a reconciliation run. */
    public record RunRef(long runId) {}

    /** A new Spend Card event: the sell request it names is watched, and it is published. */
    private Outcome spendCardEvent(WriteUnit u, Callback.SpendCardEvent e, Instant receivedAt) {
        JsonNode sellRequestId = e.body().path("sell_request").path("id");
        if (sellRequestId.isTextual() && !sellRequestId.textValue().isBlank()) {
            u.watched.add(new WriteUnit.WatchedSellRequest(sellRequestId.textValue(), e.userUuid()));
        }
        u.outbox.add(messages.spendCardEvent(new Messages.SpendCardEvent(
                e.eventId().toString(), e.eventName(), e.cardId(), e.userUuid(), receivedAt, e.body())));
        return Outcome.ACCEPTED;
    }

    private static Outcome quarantine(WriteUnit u, long callbackId, CallbackInserts.Item item) {
        String reason = item.parsed().invalidReason();
        log.atWarn().addKeyValue("callback_id", callbackId).addKeyValue("route", item.route().dbValue())
                .addKeyValue("outcome", Outcome.QUARANTINED.label())
                .log("quarantined a signed {} callback (id {}): {}", item.route().dbValue(), callbackId, reason);
        u.quarantined.add(new WriteUnit.Quarantined(callbackId, item.route(), item.body(), reason));
        return Outcome.QUARANTINED;
    }

    /** What a unit of work returns, and how many outbox rows it appended. */
    record Written<T>(T value, int outboxRows) {}

    /**
     * Runs one unit of work in a transaction, again when a second try can succeed ({@link Transactions});
     * once committed, signals the relays once if it appended outbox rows. The count is the
     * committed attempt's own: an attempt rolled back and run again counts nothing.
     */
    <T> T inTransaction(Function<DSLContext, Written<T>> work) {
        Written<T> written = transactions.run(work);
        // After the commit (run returned), so that a relay woken now sees the rows.
        if (written.outboxRows() > 0) {
            outboxSignal.committed();
        }
        return written.value();
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
}
