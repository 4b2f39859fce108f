package dev.mercuryobridge.finding;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.mercuryobridge.db.generated.Keys;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.outbox.Outbox;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

import java.util.Collection;

import static dev.mercuryobridge.db.generated.Tables.FINDING;

/**
 * Stores findings and announces them on the reconciliation topic, in the caller's transaction.
 *
 * <p>Exactly once per observation: one row per (kind, subject, actual), nulls included (a unique
 * constraint, never a read-then-insert). Raising an open finding again changes nothing and
 * publishes nothing; raising a resolved one reopens it and announces it again under a new
 * CloudEvent id ({@code finding/<id>/<occurrence>}), because it is news again.
 */
public final class Findings {

    /** What raising did. */
    public enum Raised {
        /** First observation: stored and announced. */
        NEW,
        /** Observed again after it had been resolved: reopened and announced again. */
        REOPENED,
        /** Already open: nothing written, nothing announced. */
        UNCHANGED;

        public boolean announced() {
            return this != UNCHANGED;
        }
    }

    private final Messages messages;

    public Findings(Messages messages) {
        this.messages = messages;
    }

    public Raised raise(DSLContext tx, Finding f) {
        var resolvedAt = f.resolvedOnDetection() ? DSL.currentInstant() : DSL.castNull(FINDING.RESOLVED_AT);
        JSONB detail = detail(f.detail());
        return tx.insertInto(FINDING)
                .set(FINDING.KIND, f.kind().dbValue())
                .set(FINDING.SUBJECT, f.subject())
                .set(FINDING.EXPECTED, f.expected())
                .set(FINDING.ACTUAL, f.actual())
                .set(FINDING.DETECTED_BY, f.detectedBy())
                .set(FINDING.DETAIL, detail)
                .set(FINDING.RUN_ID, f.runId())
                .set(FINDING.RESOLVED_AT, resolvedAt)
                .onConflictOnConstraint(Keys.FINDING_ONCE)
                .doUpdate()
                .set(FINDING.RESOLVED_AT, resolvedAt)
                .set(FINDING.OCCURRENCE, FINDING.OCCURRENCE.plus(1))
                .set(FINDING.LAST_DETECTED_AT, DSL.currentInstant())
                .set(FINDING.EXPECTED, f.expected())
                .set(FINDING.DETECTED_BY, f.detectedBy())
                .set(FINDING.DETAIL, detail)
                .set(FINDING.RUN_ID, f.runId())
                .where(FINDING.RESOLVED_AT.isNotNull())
                .returning(FINDING.ID, FINDING.OCCURRENCE, FINDING.LAST_DETECTED_AT)
                .fetchOptional()
                .map(r -> {
                    Outbox.append(tx, messages.finding(new Messages.Finding(r.getId(), r.getOccurrence(),
                            f.kind().dbValue(), f.subject(), f.expected(), f.actual(), f.detectedBy(), r.getLastDetectedAt())));
                    return r.getOccurrence() == 1 ? Raised.NEW : Raised.REOPENED;
                })
                .orElse(Raised.UNCHANGED);
    }

    /**
     * Resolves the open findings of this kind and subject whose observed value is not among
     * {@code stillObserved} (a null in it keeps a finding whose actual is null open).
     */
    public static int resolveExcept(DSLContext dsl, FindingKind kind, String subject, Collection<String> stillObserved) {
        // Set.of(...).contains(null) throws: look for a null without asking the collection.
        boolean keepNull = stillObserved.stream().anyMatch(java.util.Objects::isNull);
        var observed = stillObserved.stream().filter(java.util.Objects::nonNull).toList();
        var stillThere = DSL.or(observed.isEmpty() ? DSL.falseCondition() : FINDING.ACTUAL.isNotNull().and(FINDING.ACTUAL.in(observed)),
                keepNull ? FINDING.ACTUAL.isNull() : DSL.falseCondition());
        return dsl.update(FINDING).set(FINDING.RESOLVED_AT, DSL.currentInstant())
                .where(FINDING.KIND.eq(kind.dbValue())).and(FINDING.SUBJECT.eq(subject)).and(FINDING.RESOLVED_AT.isNull())
                .andNot(stillThere)
                .execute();
    }

    private static JSONB detail(Object detail) {
        if (detail == null) {
            return null;
        }
        try {
            return JSONB.valueOf(Json.MAPPER.writeValueAsString(detail));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("finding detail could not be serialized", e);
        }
    }
}
