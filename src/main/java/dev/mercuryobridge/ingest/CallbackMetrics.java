package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.DatabaseErrors;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code mercuryo_callbacks_total{route, result}}: every callback counted once by what became of it
 * (accepted, stale, conflict, duplicate, quarantined, bad_signature, too_large, unavailable, timeout).
 */
public final class CallbackMetrics implements IngestListener {
    private final MeterRegistry registry;

    public CallbackMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void stored(Callback.Route route, Outcome outcome) {
        count(route, outcome.label());
    }

    @Override
    public void failed(Callback.Route route, RuntimeException cause) {
        count(route, DatabaseErrors.isTimeout(cause) ? "timeout" : DatabaseErrors.isUnavailable(cause) ? "unavailable" : "error");
    }

    public void rejected(Callback.Route route, String result) {
        count(route, result);
    }

    private void count(Callback.Route route, String result) {
        Counter.builder("mercuryo.callbacks")
                .description("Callbacks received, by route and result")
                .tag("route", route.dbValue())
                .tag("result", result)
                .register(registry)
                .increment();
    }
}
