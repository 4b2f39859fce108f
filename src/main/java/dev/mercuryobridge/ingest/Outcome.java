package dev.mercuryobridge.ingest;

/** What storing one callback did. Every outcome is answered 200: the body is durably kept. */
public enum Outcome {
    /** New information: stored, and the state moved (or a newer report refreshed it). */
    ACCEPTED,
    /** New report, but older than the stored state (or a replay of a final status): kept, no effect. */
    STALE,
    /** A second, different final status: kept, and raised as a finding. */
    CONFLICT,
    /** Seen before (same dedupe key): the delivery is logged, nothing else. */
    DUPLICATE,
    /** Authentic but unparseable or invalid: kept verbatim in quarantine for replay. */
    QUARANTINED;

    public String label() {
        return name().toLowerCase();
    }
}
