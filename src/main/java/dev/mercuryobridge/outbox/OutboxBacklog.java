package dev.mercuryobridge.outbox;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.db.generated.Tables.OUTBOX_PENDING;

/**
 * {@code outbox_backlog} and {@code outbox_oldest_age_seconds}, read from the database when
 * asked (a scrape, a readiness probe) and at most once a second, so that every replica reports
 * them and the relay never counts its backlog while it drains it. NaN while the database cannot
 * be read.
 */
final class OutboxBacklog {
    private static final Logger log = LoggerFactory.getLogger(OutboxBacklog.class);
    private static final Duration FRESH = Duration.ofSeconds(1);

    record Snapshot(long rows, Instant oldest, Instant at) {}

    private final DSLContext dsl;
    private final Clock clock;
    private Snapshot last;
    private boolean failing;

    OutboxBacklog(DSLContext dsl, Clock clock, MeterRegistry registry) {
        this.dsl = dsl;
        this.clock = clock;
        Gauge.builder("outbox.backlog", this, b -> b.get().map(s -> (double) s.rows()).orElse(Double.NaN))
                .description("Unpublished outbox rows").register(registry);
        Gauge.builder("outbox.oldest.age", this, OutboxBacklog::oldestAgeSeconds).baseUnit("seconds")
                .description("Age of the oldest unpublished outbox row").register(registry);
    }

    /** Unpublished rows, or -1 when the database cannot be read. */
    long rows() {
        return get().map(Snapshot::rows).orElse(-1L);
    }

    private double oldestAgeSeconds() {
        return get().map(s -> s.oldest() == null ? 0.0
                : Math.max(0, Duration.between(s.oldest(), clock.instant()).toMillis() / 1000.0)).orElse(Double.NaN);
    }

    private synchronized Optional<Snapshot> get() {
        Instant now = clock.instant();
        if (last != null && Duration.between(last.at(), now).compareTo(FRESH) < 0) {
            return Optional.of(last);
        }
        try {
            // The oldest unpublished row is the one with the lowest id (ids are handed out in time
            // order), found on outbox_pending's primary key.
            var r = dsl.select(DSL.count(),
                            DSL.field(dsl.select(OUTBOX.CREATED_AT).from(OUTBOX)
                                    .where(OUTBOX.ID.eq(DSL.field(dsl.select(DSL.min(OUTBOX_PENDING.ID)).from(OUTBOX_PENDING))))))
                    .from(OUTBOX_PENDING).fetchSingle();
            last = new Snapshot(r.value1(), r.value2(), now);
            failing = false;
            return Optional.of(last);
        } catch (DataAccessException e) {
            if (!failing) {
                log.warn("cannot read the outbox backlog, reporting NaN: {}", e.getMessage());
            }
            failing = true;
            last = null;
            return Optional.empty();
        }
    }
}
