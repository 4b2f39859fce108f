package dev.mercuryobridge.ingest;

import dev.mercuryobridge.http.ApiException;
import dev.mercuryobridge.db.generated.tables.records.QuarantineRecord;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

import java.time.Clock;
import java.time.Instant;
import java.util.List;

import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;

/**
 * Signed callbacks that could not be parsed: listed for operators, and replayable once the cause
 * is fixed (a parser change, or a body that is valid after all). A replay runs the body through
 * the same write path as a fresh callback, in one transaction with marking it replayed.
 */
public final class QuarantineService {

    public record Entry(long id, long callbackId, String route, String reason, Instant receivedAt,
                        Instant replayedAt, String replayResult, String body) {}

    record ReplayResult(long id, String outcome) {}

    private final IngestService ingest;
    private final DSLContext dsl;
    private final Clock clock;

    public QuarantineService(IngestService ingest, DSLContext dsl, Clock clock) {
        this.ingest = ingest;
        this.dsl = dsl;
        this.clock = clock;
    }

    public List<Entry> list(boolean includeReplayed, int limit) {
        return dsl.selectFrom(QUARANTINE)
                .where(includeReplayed ? DSL.noCondition() : QUARANTINE.REPLAYED_AT.isNull())
                .orderBy(QUARANTINE.ID)
                .limit(limit)
                .fetch(QuarantineService::entry);
    }

    public ReplayResult replay(long id) {
        return ingest.inTransaction(tx -> {
            QuarantineRecord q = tx.selectFrom(QUARANTINE).where(QUARANTINE.ID.eq(id)).forUpdate().fetchOne();
            if (q == null) {
                throw ApiException.notFound("no quarantined callback " + id);
            }
            if (q.getReplayedAt() != null) {
                throw ApiException.conflict("already_replayed", "quarantined callback " + id + " was replayed at "
                        + q.getReplayedAt() + " (" + q.getReplayResult() + ")");
            }
            Callback.Route route = Callback.Route.valueOf(q.getRoute().toUpperCase());
            Callback callback;
            try {
                callback = CallbackParser.parse(route, q.getBody());
            } catch (InvalidCallbackException e) {
                throw new ApiException(422, "still_invalid", e.getMessage());
            }
            IngestService.Written<Outcome> outcome = ingest.record(tx, callback, q.getCallbackId(), DetectedBy.CALLBACK);
            q.setReplayedAt(clock.instant());
            q.setReplayResult(outcome.value().label());
            q.update();
            return new IngestService.Written<>(new ReplayResult(id, outcome.value().label()), outcome.outboxRows());
        });
    }

    private static Entry entry(QuarantineRecord q) {
        return new Entry(q.getId(), q.getCallbackId(), q.getRoute(), q.getReason(), q.getReceivedAt(),
                q.getReplayedAt(), q.getReplayResult(),
                new String(q.getBody(), java.nio.charset.StandardCharsets.UTF_8));
    }
}
