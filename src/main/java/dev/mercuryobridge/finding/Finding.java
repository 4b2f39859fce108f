package dev.mercuryobridge.finding;

import java.util.Objects;

/**
 * A finding to raise: what disagrees ({@code kind}), about what ({@code subject}: a transaction
 * or sell request id, or a card user's uuid), what we hold ({@code expected}) and what was observed
 * ({@code actual}, may be null). One finding exists per (kind, subject, actual).
 *
 * @param detectedBy          {@code callback} or {@code reconciler}
 * @param detail              a record serialized as the finding's JSON detail, or null
 * @param runId               the reconciliation run that raised it, or null
 * @param resolvedOnDetection raising it also settled it (a missed callback the same write applied)
 */
public record Finding(FindingKind kind, String subject, String expected, String actual, String detectedBy,
                      Object detail, Long runId, boolean resolvedOnDetection) {
    public Finding {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(detectedBy, "detectedBy");
    }

    /** An open finding raised by a reconciliation run. */
    public static Finding byRun(FindingKind kind, String subject, String expected, String actual, Object detail, long runId) {
        return new Finding(kind, subject, expected, actual, "reconciler", detail, runId, false);
    }
}
