package dev.mercuryobridge.reconcile;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.AdvisoryLock;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.outbox.OutboxSignal;
import dev.mercuryobridge.mercuryo.MercuryoApiException;
import dev.mercuryobridge.mercuryo.MercuryoClient;
import dev.mercuryobridge.mercuryo.MercuryoErrors;
import dev.mercuryobridge.mercuryo.MercuryoProtocolException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static dev.mercuryobridge.db.generated.Tables.RECONCILIATION_RUN;

/**
 * Finds what callbacks did not tell us, by asking Mercuryo's API: due sell requests
 * ({@link SellRequestCheck}) and every registered card user's card ({@link CardCheck}); who and
 * what is due is the {@link Watchlist}.
 *
 * <p>One instance at a time: a run holds a PostgreSQL session advisory lock for its duration.
 * Items are checked with bounded concurrency; one item's failure is recorded and the run goes on.
 * A user Mercuryo refuses with 403007 (another active transaction, e.g. a top-up in flight) is
 * tried again later in the run, a bounded number of times, then recorded. An answer that is not
 * Mercuryo's at all (a wrong base URL, a proxy page) fails the whole run as a configuration error:
 * no finding comes from it, and the run and {@code /health/ready} show it.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    static final long LOCK_KEY = 0x6d72627265636fL;
    private static final AdvisoryLock LOCK = new AdvisoryLock(LOCK_KEY);
    /** Rounds over the users Mercuryo refused with 403007: the first, then this many retries. */
    static final int DEFERRED_ROUNDS = 3;
    static final Duration DEFERRED_PAUSE = Duration.ofSeconds(2);
    /** At most this many entries of needs_registration are kept on a run (the count is always exact). */
    private static final int MAX_LISTED = 1_000;

    private final Config config;
    private final DSLContext dsl;
    private final SellRequestCheck sellRequests;
    private final CardCheck cards;
    private final Clock clock;
    private final ExecutorService runner;
    private final ScheduledExecutorService scheduler;
    private final Timer runTime;
    private final Counter findingsRaised;

    /** The outcome of asking for a run. */
    sealed interface Start {
        record Started(long runId, Future<RunSummary> done) implements Start {}

        record AlreadyRunning() implements Start {}
    }

    record RunSummary(long runId, String status, int itemsChecked, int findings, int errors) {}

    /** The latest run, for readiness. */
    public record LastRun(long id, String status, Instant startedAt, Instant finishedAt, String failure) {}

    public Reconciler(Config config, DSLContext dsl, IngestService ingest, Findings findings, MercuryoClient client,
                      MeterRegistry registry, Clock clock) {
        this(config, dsl, ingest, findings, OutboxSignal.NONE, client, registry, clock);
    }

    /** {@code outboxSignal}: told after a finding's announcement committed (the ingest's writes signal on their own). */
    public Reconciler(Config config, DSLContext dsl, IngestService ingest, Findings findings, OutboxSignal outboxSignal,
                      MercuryoClient client, MeterRegistry registry, Clock clock) {
        this.config = config;
        this.dsl = dsl;
        RunFindings runFindings = new RunFindings(dsl, findings, outboxSignal);
        this.sellRequests = new SellRequestCheck(dsl, ingest, runFindings, client);
        this.cards = new CardCheck(dsl, runFindings, client);
        this.clock = clock;
        this.runner = Executors.newSingleThreadExecutor(daemon("reconciler"));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("reconciler-schedule"));
        this.runTime = Timer.builder("reconciliation.run.duration").description("Reconciliation run time").register(registry);
        this.findingsRaised = Counter.builder("reconciliation.findings").description("Findings raised by the reconciler")
                .register(registry);
    }

    /** Runs every RECONCILE_INTERVAL; a run skipped because another instance holds the lock is fine. */
    public Reconciler schedule() {
        long every = config.reconcileInterval().toMillis();
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                if (start("scheduled") instanceof Start.Started s) {
                    s.done().get();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | RuntimeException e) {
                // Recorded on the run itself; the next interval tries again.
                log.warn("scheduled reconciliation failed: {}", e.getMessage());
            }
        }, every, every, TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Starts a run unless one is running anywhere (this or another instance). The lock is taken
     * here, before answering, so the caller learns at once whether the run started.
     */
    Start start(String trigger) {
        Connection lock = null;
        try {
            // A session of its own, outside the pool: closing it always ends the session and so
            // releases the lock, even if the unlock statement could not run.
            lock = DriverManager.getConnection(config.databaseUrl(), config.databaseUser(), config.databasePassword());
            if (!LOCK.tryLock(lock)) {
                lock.close();
                return new Start.AlreadyRunning();
            }
            long runId = dsl.insertInto(RECONCILIATION_RUN).set(RECONCILIATION_RUN.TRIGGER, trigger)
                    .returning(RECONCILIATION_RUN.ID).fetchSingle(RECONCILIATION_RUN.ID);
            Connection held = lock;
            Future<RunSummary> done = runner.submit(() -> {
                try {
                    return run(runId);
                } finally {
                    LOCK.unlock(held);
                    held.close();
                }
            });
            return new Start.Started(runId, done);
        } catch (SQLException | RuntimeException e) {
            if (lock != null) {
                try {
                    lock.close();
                } catch (SQLException closing) {
                    e.addSuppressed(closing);
                }
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new org.jooq.exception.DataAccessException("could not start a reconciliation run", (SQLException) e);
        }
    }

    /**
     * Waits until every run this instance has started so far has finished: the runner takes them
     * one at a time, in order, so a no-op queued behind them completes after the last.
     */
    public void awaitStartedRuns(Duration timeout) throws InterruptedException, ExecutionException, TimeoutException {
        runner.submit(() -> {}).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The latest run of any instance, if there has been one. */
    public Optional<LastRun> lastRun() {
        return dsl.selectFrom(RECONCILIATION_RUN).orderBy(RECONCILIATION_RUN.ID.desc()).limit(1)
                .fetchOptional(r -> new LastRun(r.getId(), r.getStatus(), r.getStartedAt(), r.getFinishedAt(), r.getFailure()));
    }

    /** One unit of a run: a sell request or a card user. */
    private record Item(String name, Check check) {}

    @FunctionalInterface
    private interface Check {
        int run();
    }

    private RunSummary run(long runId) {
        Timer.Sample sample = Timer.start();
        RunLog runLog = new RunLog();
        String status;
        try {
            List<Item> items = plan(runId, runLog);
            List<Item> deferred = runRound(items, runLog);
            for (int round = 2; round <= DEFERRED_ROUNDS && !deferred.isEmpty() && runLog.failure() == null; round++) {
                log.info("reconciliation run {}: {} item(s) deferred by 403007 (another active transaction); round {} of {} in {}",
                        runId, deferred.size(), round, DEFERRED_ROUNDS, DEFERRED_PAUSE);
                Thread.sleep(DEFERRED_PAUSE.toMillis());
                deferred = runRound(deferred, runLog);
            }
            for (Item item : deferred) {
                runLog.error(item.name(), "deferred", "Mercuryo answered 403007 (another active transaction) "
                        + DEFERRED_ROUNDS + " times; tried again next run");
            }
            status = runLog.failure() != null ? "failed" : runLog.errors() == 0 ? "succeeded" : "partial";
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            log.error("reconciliation run {} failed", runId, e);
            runLog.fail("run: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            status = "failed";
        }
        finish(runId, status, runLog);
        sample.stop(runTime);
        log.info("reconciliation run {} {}: {} item(s) checked, {} finding(s), {} error(s), {} need registration{}",
                runId, status, runLog.checked(), runLog.findings(), runLog.errors(), runLog.needsRegistrationCount(),
                runLog.failure() == null ? "" : "; " + runLog.failure());
        return new RunSummary(runId, status, runLog.checked(), runLog.findings(), runLog.errors());
    }

    /** Who and what to check; those who cannot be checked are listed as needing registration. */
    private List<Item> plan(long runId, RunLog runLog) {
        Map<String, Watchlist.Candidate> users = Watchlist.cardUsers(dsl);
        List<Watchlist.DueSellRequest> due = Watchlist.dueSellRequests(dsl, clock.instant().minus(config.reconcileGracePeriod()));
        List<Item> items = new ArrayList<>();
        for (Watchlist.DueSellRequest request : due) {
            Watchlist.Candidate user = request.userUuid() == null ? null : users.get(request.userUuid());
            if (user == null || !user.missing().isEmpty()) {
                runLog.needsRegistration(request.userUuid(), user == null ? List.of("user") : user.missing(), request.id());
                continue;
            }
            items.add(new Item(request.id(), () -> sellRequests.check(runId, request, user.user())));
        }
        for (Watchlist.Candidate user : users.values()) {
            if (!user.missing().isEmpty()) {
                runLog.needsRegistration(user.userUuid(), user.missing(), null);
                continue;
            }
            items.add(new Item("card-user:" + user.userUuid(), () -> cards.check(runId, user)));
        }
        log.info("reconciliation run {}: {} sell request(s) and {} card user(s) to check, {} card user(s) need registration"
                        + " (PUT /api/card-users/{uuid} with their e-mail and real IP)",
                runId, due.size(), users.size(), runLog.needsRegistrationCount());
        return items;
    }

    /** Checks items with bounded concurrency; returns those Mercuryo asked to try later (403007). */
    private List<Item> runRound(List<Item> items, RunLog runLog) throws InterruptedException, ExecutionException {
        List<Item> deferred = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(config.reconcileConcurrency(), daemon("reconcile-item"));
        try {
            List<Future<?>> work = new ArrayList<>();
            for (Item item : items) {
                work.add(pool.submit(() -> check(item, runLog, deferred)));
            }
            for (Future<?> f : work) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        return List.copyOf(deferred);
    }

    /** Runs one item's check; its failure is recorded and does not stop the run. */
    private void check(Item item, RunLog runLog, List<Item> deferred) {
        if (runLog.failure() != null) {
            return;   // the run has failed as a whole: asking further only repeats the failure
        }
        try {
            int announced = item.check().run();
            runLog.checked(announced);
            findingsRaised.increment(announced);
        } catch (MercuryoProtocolException e) {
            runLog.fail("configuration: " + e.getMessage());
        } catch (MercuryoApiException e) {
            if (e.code() == MercuryoErrors.ANOTHER_ACTIVE_TRANSACTION) {
                deferred.add(item);
            } else {
                runLog.checked(0);
                runLog.error(item.name(), "mercuryo", e.getMessage());
            }
        } catch (RuntimeException e) {
            if (DatabaseErrors.isUnavailable(e)) {
                throw e;   // nothing more can be recorded: the run fails as a whole
            }
            runLog.checked(0);
            runLog.error(item.name(), e);
        }
    }

    private void finish(long runId, String status, RunLog runLog) {
        try {
            dsl.update(RECONCILIATION_RUN)
                    .set(RECONCILIATION_RUN.STATUS, status)
                    .set(RECONCILIATION_RUN.FINISHED_AT, DSL.currentInstant())
                    .set(RECONCILIATION_RUN.ITEMS_CHECKED, runLog.checked())
                    .set(RECONCILIATION_RUN.FINDINGS, runLog.findings())
                    .set(RECONCILIATION_RUN.ERRORS, runLog.errors())
                    .set(RECONCILIATION_RUN.ERROR_DETAIL, JSONB.valueOf(runLog.errorsJson()))
                    .set(RECONCILIATION_RUN.NEEDS_REGISTRATION, JSONB.valueOf(runLog.needsRegistrationJson(MAX_LISTED)))
                    .set(RECONCILIATION_RUN.FAILURE, runLog.failure())
                    .where(RECONCILIATION_RUN.ID.eq(runId))
                    .execute();
        } catch (RuntimeException e) {
            // The row stays "running" with no finish time: visibly unfinished, and the next run goes on.
            log.error("reconciliation run {} could not be recorded as {}", runId, status, e);
        }
    }

    /** Daemon threads named {@code name-1}, {@code name-2}, …: they never keep the JVM alive at shutdown. */
    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return Thread.ofPlatform().name(name + "-", 1).daemon(true).factory();
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        runner.shutdown();
        try {
            if (!runner.awaitTermination(10, TimeUnit.SECONDS)) {
                runner.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
