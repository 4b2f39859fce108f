package dev.mercuryobridge.ingest;

import dev.failsafe.Failsafe;
import dev.failsafe.RetryPolicy;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.db.Timeouts;
import dev.mercuryobridge.db.generated.Routines;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Keeps the monthly partitions of the raw callback table prepared months ahead, bounded in UTC
 * (the database function writes the bounds with a +00 offset, whatever the session's zone).
 *
 * <p>Creating a partition takes an ACCESS EXCLUSIVE lock on {@code callback}. While the DDL waits
 * for it (behind a report's open transaction, say) every insert queues behind the DDL, so each
 * month is created in its own transaction under a short lock and statement timeout: it gives up
 * quickly, inserts flow again, and Failsafe tries again later with back-off. A month that
 * exists is skipped without taking any lock. Rows of a month without its partition still land in
 * the default partition ({@link CallbackPartitionMetrics} counts them).
 */
public final class CallbackPartitions {
    private static final Logger log = LoggerFactory.getLogger(CallbackPartitions.class);
    private static final int MAX_RETRIES = 10;

    private final DSLContext dsl;
    private final Clock clock;
    private final int monthsAhead;
    private final Timeouts ddlTimeouts;
    private final ScheduledExecutorService scheduler;
    private final RetryPolicy<Integer> retry;

    /**
     * @param ddlTimeout how long the DDL may wait for its lock and run; callbacks wait behind it meanwhile
     * @param retryDelay the first pause after a timed-out attempt (doubling up to 32 times it)
     */
    public CallbackPartitions(DSLContext dsl, Clock clock, int monthsAhead, Duration ddlTimeout,
                              ScheduledExecutorService scheduler, Duration retryDelay) {
        this.dsl = dsl;
        this.clock = clock;
        this.monthsAhead = monthsAhead;
        this.ddlTimeouts = new Timeouts(ddlTimeout, ddlTimeout);
        this.scheduler = scheduler;
        this.retry = RetryPolicy.<Integer>builder()
                // A lock held too long, or the database away: both pass. Anything else is logged once.
                .handleIf(e -> DatabaseErrors.isTimeout(e) || DatabaseErrors.isUnavailable(e))
                .withBackoff(retryDelay, retryDelay.multipliedBy(32))
                .withMaxRetries(MAX_RETRIES)
                .onRetryScheduled(e -> log.warn("could not prepare callback partitions within {} (SQLState {});"
                        + " trying again in {}", ddlTimeout, DatabaseErrors.sqlState(e.getLastException()), e.getDelay()))
                .build();
    }

    /**
     * Prepares this month and the next {@code monthsAhead}, trying again later while an attempt
     * times out; completes with the number of attempts made, or exceptionally when it gave up.
     */
    public CompletableFuture<Integer> ensure() {
        return Failsafe.with(retry).with(scheduler)
                .getAsync(context -> {
                    ensureOnce();
                    return context.getAttemptCount() + 1;
                })
                .whenComplete((attempts, e) -> {
                    if (e != null) {
                        log.warn("callback partitions are not prepared (SQLState {}); new months fall into the default"
                                + " partition until the next run succeeds", DatabaseErrors.sqlState(e));
                    }
                });
    }

    /** One attempt: each month in its own transaction, so months already made stay made. */
    void ensureOnce() {
        LocalDate first = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).withDayOfMonth(1);
        for (int i = 0; i <= monthsAhead; i++) {
            LocalDate month = first.plusMonths(i);
            dsl.transaction(c -> {
                ddlTimeouts.applyLocal(c.dsl());
                Routines.ensureCallbackPartitions(c.dsl().configuration(), month, 1);
            });
        }
    }
}
