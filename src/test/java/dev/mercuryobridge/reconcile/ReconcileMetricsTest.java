package dev.mercuryobridge.reconcile;

import dev.mercuryobridge.testing.ManualClock;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.testing.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static dev.mercuryobridge.db.generated.Tables.RECONCILIATION_RUN;
import static org.assertj.core.api.Assertions.assertThat;

class ReconcileMetricsTest {
    private static Database database;

    @BeforeAll
    static void database() {
        database = Database.connect(TestDatabase.freshDatabaseUrl(), "postgres", "postgres");
        database.migrate();
    }

    @AfterAll
    static void close() {
        database.close();
    }

    @Test
    void gauges_show_the_latest_finished_run_and_are_unknown_before_any() {
        DSLContext dsl = database.dsl();
        dsl.deleteFrom(RECONCILIATION_RUN).execute();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ManualClock clock = new ManualClock(Instant.parse("2026-11-20T10:00:00Z"));
        new ReconcileMetrics(dsl, clock).bindTo(registry);

        assertThat(gauge(registry, "reconciliation.last.run.finished.timestamp")).isNaN();
        assertThat(gauge(registry, "reconciliation.last.run.failed")).isNaN();

        insertRun(dsl, "succeeded", "2026-11-20T09:00:00Z", "2026-11-20T09:00:05Z", 0);
        insertRun(dsl, "failed", "2026-11-20T09:05:00Z", "2026-11-20T09:05:02Z", 1);
        insertRun(dsl, "running", "2026-11-20T09:10:00Z", null, 0);
        clock.advance(ReconcileMetrics.MAX_AGE);
        assertThat(gauge(registry, "reconciliation.last.run.finished.timestamp"))
                .isEqualTo(Instant.parse("2026-11-20T09:05:02Z").getEpochSecond());
        assertThat(gauge(registry, "reconciliation.last.run.failed")).isEqualTo(1);
        assertThat(gauge(registry, "reconciliation.last.run.errors")).isEqualTo(1);

        insertRun(dsl, "partial", "2026-11-20T09:15:00Z", "2026-11-20T09:15:03Z", 3);
        clock.advance(ReconcileMetrics.MAX_AGE);
        assertThat(gauge(registry, "reconciliation.last.run.failed")).isEqualTo(0);
        assertThat(gauge(registry, "reconciliation.last.run.errors")).isEqualTo(3);
    }

    @Test
    void one_reading_serves_every_gauge_until_it_is_max_age_old() {
        DSLContext dsl = database.dsl();
        dsl.deleteFrom(RECONCILIATION_RUN).execute();
        ManualClock clock = new ManualClock(Instant.parse("2026-11-20T10:00:00Z"));
        ReconcileMetrics metrics = new ReconcileMetrics(dsl, clock);
        assertThat(metrics.lastRun()).isEmpty();
        insertRun(dsl, "succeeded", "2026-11-20T09:00:00Z", "2026-11-20T09:00:05Z", 0);
        assertThat(metrics.lastRun()).as("still the cached reading").isEmpty();
        clock.advance(ReconcileMetrics.MAX_AGE.minusMillis(1));
        assertThat(metrics.lastRun()).as("still the cached reading").isEmpty();
        clock.advance(java.time.Duration.ofMillis(1));
        assertThat(metrics.lastRun()).map(ReconcileMetrics.LastRun::status).contains("succeeded");
    }

    private static void insertRun(DSLContext dsl, String status, String startedAt, String finishedAt, int errors) {
        dsl.insertInto(RECONCILIATION_RUN)
                .set(RECONCILIATION_RUN.TRIGGER, "scheduled")
                .set(RECONCILIATION_RUN.STATUS, status)
                .set(RECONCILIATION_RUN.STARTED_AT, Instant.parse(startedAt))
                .set(RECONCILIATION_RUN.FINISHED_AT, finishedAt == null ? null : Instant.parse(finishedAt))
                .set(RECONCILIATION_RUN.ERRORS, errors)
                .execute();
    }

    private static double gauge(SimpleMeterRegistry registry, String name) {
        return registry.get(name).gauge().value();
    }
}
