package dev.mercuryobridge.ingest;

/** Who saw a status first: Mercuryo's callback, or the reconciler polling the API. */
enum DetectedBy {
    CALLBACK, RECONCILER;

    public String dbValue() {
        return name().toLowerCase();
    }
}
