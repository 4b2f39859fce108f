package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.db.Jsonb;
import dev.mercuryobridge.db.generated.tables.records.ReconciliationRunRecord;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static dev.mercuryobridge.db.generated.Tables.CARD_USER;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.RECONCILIATION_RUN;
import static dev.mercuryobridge.db.generated.Tables.WATCHED_SELL_REQUEST;

/**
 * The rows the reconciler's admin API reads and writes: card users and sell requests to watch
 * (registered by the operator), runs and findings. Values arrive checked by {@link ReconcileRoutes}.
 */
final class ReconcileStore {

    record CardUserView(String userUuid, String email, String ip, String cardId, String source,
                        Instant firstSeenAt, Instant updatedAt) {}

    record SellRequestView(String id, String userUuid, String source, Instant registeredAt) {}

    /**
     * A run. {@code failure} says why it failed as a whole (e.g. a base URL that does not answer
     * like Mercuryo); {@code needsRegistration} lists the card users it could not check for want of
     * an e-mail or a real IP (register them with PUT /api/card-users/{uuid}).
     */
    record RunView(long id, String trigger, String status, Instant startedAt, Instant finishedAt,
                   int itemsChecked, int findings, int errors, JsonNode errorDetail, String failure,
                   JsonNode needsRegistration) {}

    record FindingView(long id, String kind, String subject, String expected, String actual,
                       String detectedBy, Long runId, Instant detectedAt, Instant lastDetectedAt, int occurrence,
                       Instant resolvedAt, JsonNode detail) {}

    /** Which findings to list; a null field does not filter. */
    record FindingFilter(Boolean open, String kind, String subject) {}

    private final DSLContext dsl;

    ReconcileStore(DSLContext dsl) {
        this.dsl = dsl;
    }

    /** Registers (or updates) a card user; a null IP keeps the one already known. */
    CardUserView putCardUser(String userUuid, String email, String ip) {
        dsl.insertInto(CARD_USER)
                .set(CARD_USER.USER_UUID, userUuid).set(CARD_USER.EMAIL, email).set(CARD_USER.IP, ip)
                .set(CARD_USER.SOURCE, "admin")
                .onConflict(CARD_USER.USER_UUID).doUpdate()
                .set(CARD_USER.EMAIL, email).set(CARD_USER.IP, DSL.coalesce(DSL.val(ip), CARD_USER.IP))
                .set(CARD_USER.UPDATED_AT, DSL.currentInstant())
                .execute();
        return cardUser(userUuid).orElseThrow();
    }

    Optional<CardUserView> cardUser(String userUuid) {
        return dsl.selectFrom(CARD_USER).where(CARD_USER.USER_UUID.eq(userUuid))
                .fetchOptional(r -> new CardUserView(r.getUserUuid(), r.getEmail(), r.getIp(), r.getCardId(), r.getSource(),
                        r.getFirstSeenAt(), r.getUpdatedAt()));
    }

    /** Watches a sell request of a card user (or moves it to another user). */
    SellRequestView putSellRequest(String id, String userUuid) {
        dsl.insertInto(WATCHED_SELL_REQUEST)
                .set(WATCHED_SELL_REQUEST.ID, id).set(WATCHED_SELL_REQUEST.USER_UUID, userUuid)
                .set(WATCHED_SELL_REQUEST.SOURCE, "admin")
                .onConflict(WATCHED_SELL_REQUEST.ID).doUpdate()
                .set(WATCHED_SELL_REQUEST.USER_UUID, userUuid)
                .execute();
        return dsl.selectFrom(WATCHED_SELL_REQUEST).where(WATCHED_SELL_REQUEST.ID.eq(id))
                .fetchSingle(r -> new SellRequestView(r.getId(), r.getUserUuid(), r.getSource(), r.getRegisteredAt()));
    }

    /** The latest runs, newest first. */
    List<RunView> runs(int limit) {
        return dsl.selectFrom(RECONCILIATION_RUN).orderBy(RECONCILIATION_RUN.ID.desc()).limit(limit)
                .fetch(ReconcileStore::runView);
    }

    Optional<RunView> run(long id) {
        return dsl.selectFrom(RECONCILIATION_RUN).where(RECONCILIATION_RUN.ID.eq(id))
                .fetchOptional(ReconcileStore::runView);
    }

    /** The findings a run raised (up to 10,000), in the order raised. */
    List<FindingView> findingsOfRun(long runId) {
        return findings(FINDING.RUN_ID.eq(runId), 10_000);
    }

    List<FindingView> findings(FindingFilter filter, int limit) {
        Condition condition = DSL.noCondition();
        if (filter.open() != null) {
            condition = condition.and(filter.open() ? FINDING.RESOLVED_AT.isNull() : FINDING.RESOLVED_AT.isNotNull());
        }
        if (filter.kind() != null) {
            condition = condition.and(FINDING.KIND.eq(filter.kind()));
        }
        if (filter.subject() != null) {
            condition = condition.and(FINDING.SUBJECT.eq(filter.subject()));
        }
        return findings(condition, limit);
    }

    private List<FindingView> findings(Condition condition, int limit) {
        return dsl.selectFrom(FINDING).where(condition).orderBy(FINDING.ID).limit(limit)
                .fetch(f -> new FindingView(f.getId(), f.getKind(), f.getSubject(), f.getExpected(), f.getActual(),
                        f.getDetectedBy(), f.getRunId(), f.getDetectedAt(), f.getLastDetectedAt(), f.getOccurrence(),
                        f.getResolvedAt(), Jsonb.read(f.getDetail())));
    }

    private static RunView runView(ReconciliationRunRecord r) {
        return new RunView(r.getId(), r.getTrigger(), r.getStatus(), r.getStartedAt(), r.getFinishedAt(),
                r.getItemsChecked(), r.getFindings(), r.getErrors(), Jsonb.read(r.getErrorDetail()), r.getFailure(),
                Jsonb.read(r.getNeedsRegistration()));
    }
}
