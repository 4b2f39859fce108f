package dev.mercuryobridge.reconcile;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.ToDoubleFunction;

import static dev.mercuryobridge.db.generated.Tables.RECONCILIATION_RUN;
import static org.jooq.Records.mapping;

/**
 * Gauges to alert on the reconciler, read from {@code reconciliation_run}, so every replica reports
 * the same values whichever of them ran the reconciler (one at a time: advisory lock). Alert rules
 * take {@code max} across instances.
 * <ul>
 *   <li>{@code reconciliation_last_run_finished_timestamp_seconds}: when the latest finished run
 *       ended (Unix seconds);</li>
 *   <li>{@code reconciliation_last_run_failed}: 1 if that run failed as a whole, else 0;</li>
 *   <li>{@code reconciliation_last_run_errors}: the item errors recorded on that run (a
 *       {@code partial} run has some).</li>
 * </ul>
 * All three are NaN until a run has finished, and while the database cannot be read. The row is
 * read at most once per {@link #MAX_AGE}, however many gauges a scrape reads.
 */
public final class ReconcileMetrics implements MeterBinder {
    private static final Logger log = LoggerFactory.getLogger(ReconcileMetrics.class);
    static final Duration MAX_AGE = Duration.ofSeconds(5);

    /** The latest finished run, as the gauges show it. */
    record LastRun(Instant finishedAt, String status, int errors) {}

    private record Reading(Instant at, Optional<LastRun> run, boolean failed) {}

    private final DSLContext dsl;
    private final Clock clock;
    private Reading reading;

    public ReconcileMetrics(DSLContext dsl, Clock clock) {
        this.dsl = dsl;
        this.clock = clock;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "reconciliation.last.run.finished.timestamp", "seconds",
                "When the latest finished reconciliation run ended (Unix time)", r -> r.finishedAt().toEpochMilli() / 1000.0);
        gauge(registry, "reconciliation.last.run.failed", null,
                "1 if the latest finished reconciliation run failed as a whole, else 0", r -> "failed".equals(r.status()) ? 1 : 0);
        gauge(registry, "reconciliation.last.run.errors", null,
                "Item errors recorded on the latest finished reconciliation run", LastRun::errors);
    }

    private void gauge(MeterRegistry registry, String name, String unit, String description, ToDoubleFunction<LastRun> value) {
        Gauge.builder(name, this, m -> m.lastRun().map(value::applyAsDouble).orElse(Double.NaN))
                .baseUnit(unit).description(description).register(registry);
    }

    synchronized Optional<LastRun> lastRun() {
        Instant now = clock.instant();
        if (reading == null || !now.isBefore(reading.at().plus(MAX_AGE))) {
            reading = read(now);
        }
        return reading.run();
    }

    private Reading read(Instant now) {
        try {
            // Runs never overlap, so the latest started among the finished is the latest finished
            // (and the started_at index serves the query).
            Optional<LastRun> run = dsl.select(RECONCILIATION_RUN.FINISHED_AT, RECONCILIATION_RUN.STATUS, RECONCILIATION_RUN.ERRORS)
                    .from(RECONCILIATION_RUN)
                    .where(RECONCILIATION_RUN.FINISHED_AT.isNotNull())
                    .orderBy(RECONCILIATION_RUN.STARTED_AT.desc())
                    .limit(1)
                    .fetchOptional(mapping(LastRun::new));
            if (reading != null && reading.failed()) {
                log.info("reconciliation metrics: the database can be read again");
            }
            return new Reading(now, run, false);
        } catch (DataAccessException e) {
            // NaN tells the scraper "unknown"; the database's own alerts say why. Logged once per outage.
            if (reading == null || !reading.failed()) {
                log.warn("reconciliation metrics: cannot read the last run, reporting NaN: {}", e.getMessage());
            }
            return new Reading(now, Optional.empty(), true);
        }
    }
}
