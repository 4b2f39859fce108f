package dev.mercuryobridge.ingest;

/** A signed body that cannot be parsed or validated. It is quarantined, not rejected. */
public final class InvalidCallbackException extends Exception {
    public InvalidCallbackException(String reason) {
        super(reason, null, false, false);
    }
}
