package dev.mercuryobridge.ingest;

/** Told about each stored callback after its commit (metrics, and later the outbox relay's wake-up). */
@FunctionalInterface
public interface IngestListener {
    void stored(Callback.Route route, Outcome outcome);

    /** The callback could not be stored (nothing was committed); the caller answers non-200. */
    default void failed(Callback.Route route, RuntimeException cause) {}

    IngestListener NONE = (route, outcome) -> {};
}
