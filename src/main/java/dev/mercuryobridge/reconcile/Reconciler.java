package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.db.Jsonb;
import dev.mercuryobridge.http.Json;
import dev.mercuryobridge.ingest.Callback;
import dev.mercuryobridge.ingest.DetectedBy;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.ingest.Outcome;
import dev.mercuryobridge.ingest.TransactionStatuses;
import dev.mercuryobridge.mercuryo.MercuryoApiException;
import dev.mercuryobridge.mercuryo.MercuryoClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.mercuryobridge.db.generated.Tables.CARD_USER;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.RECONCILIATION_RUN;
import static dev.mercuryobridge.db.generated.Tables.SPEND_CARD_EVENT;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.db.generated.Tables.WATCHED_SELL_REQUEST;

/**
 * Finds what callbacks did not tell us, by asking Mercuryo's API.
 *
 * <ul>
 *   <li>Sell requests (Spend Card top-ups) not final after the grace period, and registered ones
 *       that never got a callback: their status is read; a further status is written through the
 *       same path as a callback ({@code detected_by = reconciler}) and raised as a
 *       {@code missed_callback} finding.</li>
 *   <li>Every card user's card: transactions Mercuryo lists that no Spend Card callback reported
 *       ({@code unseen_card_transaction}), and a balance that differs from the running total of
 *       the callbacks ({@code balance_drift}).</li>
 * </ul>
 *
 * <p>One instance at a time: a run holds a PostgreSQL session advisory lock for its duration.
 * Items are checked with bounded concurrency; one item's failure is recorded and the run goes on.
 */
public final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    static final long LOCK_KEY = 0x6d72627265636fL;

    private final Config config;
    private final DSLContext dsl;
    private final IngestService ingest;
    private final MercuryoClient client;
    private final Clock clock;
    private final ExecutorService runner;
    private final ScheduledExecutorService scheduler;
    private final Timer runTime;
    private final Counter findingsRaised;

    /** The outcome of asking for a run. */
    public sealed interface Start {
        record Started(long runId, Future<RunSummary> done) implements Start {}

        record AlreadyRunning() implements Start {}
    }

    public record RunSummary(long runId, String status, int itemsChecked, int findings, int errors) {}

    public Reconciler(Config config, DSLContext dsl, IngestService ingest, MercuryoClient client,
                      MeterRegistry registry, Clock clock) {
        this.config = config;
        this.dsl = dsl;
        this.ingest = ingest;
        this.client = client;
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
    public Start start(String trigger) {
        Connection lock = null;
        try {
            // A session of its own, outside the pool: closing it always ends the session and so
            // releases the lock, even if the unlock statement could not run.
            lock = DriverManager.getConnection(config.databaseUrl(), config.databaseUser(), config.databasePassword());
            if (!tryLock(lock)) {
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
                    unlock(held);
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

    private RunSummary run(long runId) {
        Timer.Sample sample = Timer.start();
        Errors errors = new Errors();
        AtomicInteger checked = new AtomicInteger();
        AtomicInteger findings = new AtomicInteger();
        String status;
        try {
            List<SellRequestItem> sellRequests = dueSellRequests();
            List<CardUserItem> cardUsers = cardUsers();
            log.info("reconciliation run {}: {} sell request(s), {} card user(s) to check", runId, sellRequests.size(), cardUsers.size());
            ExecutorService pool = Executors.newFixedThreadPool(config.reconcileConcurrency(), daemon("reconcile-item"));
            try {
                List<Future<?>> work = new ArrayList<>();
                for (SellRequestItem item : sellRequests) {
                    work.add(pool.submit(() -> check(item.id(), errors, checked, () -> checkSellRequest(runId, item, findings))));
                }
                for (CardUserItem item : cardUsers) {
                    work.add(pool.submit(() -> check("card-user:" + item.userUuid(), errors, checked,
                            () -> checkCard(runId, item, findings))));
                }
                for (Future<?> f : work) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            status = errors.count() == 0 ? "succeeded" : "partial";
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            log.error("reconciliation run {} failed", runId, e);
            errors.add("run", e);
            status = "failed";
        }
        finish(runId, status, checked.get(), findings.get(), errors);
        sample.stop(runTime);
        log.info("reconciliation run {} {}: {} item(s) checked, {} finding(s), {} error(s)",
                runId, status, checked.get(), findings.get(), errors.count());
        return new RunSummary(runId, status, checked.get(), findings.get(), errors.count());
    }

    /** Runs one item's check; its failure is recorded and does not stop the run. */
    private static void check(String item, Errors errors, AtomicInteger checked, ItemCheck work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            if (DatabaseErrors.isUnavailable(e)) {
                throw e;   // nothing more can be recorded: the run fails as a whole
            }
            errors.add(item, e);
        } finally {
            checked.incrementAndGet();
        }
    }

    @FunctionalInterface
    private interface ItemCheck {
        void run();
    }

    // ---- sell requests -------------------------------------------------------------------

    record SellRequestItem(String id, String storedStatus, Integer storedRank, String type, String userUuid,
                           String email, String ip) {}

    /** Sell requests not final after the grace period, and registered ones never seen at all. */
    List<SellRequestItem> dueSellRequests() {
        Instant cutoff = clock.instant().minus(config.reconcileGracePeriod());
        var known = dsl.select(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS, TRANSACTION_STATE.STATUS_RANK,
                        TRANSACTION_STATE.TRANSACTION_TYPE, TRANSACTION_STATE.USER_UUID, CARD_USER.EMAIL, CARD_USER.IP)
                .from(TRANSACTION_STATE)
                .leftJoin(CARD_USER).on(CARD_USER.USER_UUID.eq(TRANSACTION_STATE.USER_UUID))
                .where(TRANSACTION_STATE.FINAL.isFalse())
                .and(TRANSACTION_STATE.TRANSACTION_TYPE.eq("sell").or(TRANSACTION_STATE.PAYMENT_METHOD.like("spend_card%")))
                .and(TRANSACTION_STATE.LAST_CHANGED_AT.le(cutoff))
                .orderBy(TRANSACTION_STATE.TRANSACTION_ID)
                .fetch(r -> new SellRequestItem(r.value1(), r.value2(), r.value3(), r.value4(), r.value5(), r.value6(), r.value7()));
        var neverSeen = dsl.select(WATCHED_SELL_REQUEST.ID, WATCHED_SELL_REQUEST.USER_UUID, CARD_USER.EMAIL, CARD_USER.IP)
                .from(WATCHED_SELL_REQUEST)
                .leftJoin(CARD_USER).on(CARD_USER.USER_UUID.eq(WATCHED_SELL_REQUEST.USER_UUID))
                .where(WATCHED_SELL_REQUEST.REGISTERED_AT.le(cutoff))
                .andNotExists(DSL.selectOne().from(TRANSACTION_STATE)
                        .where(TRANSACTION_STATE.TRANSACTION_ID.eq(WATCHED_SELL_REQUEST.ID)))
                .orderBy(WATCHED_SELL_REQUEST.ID)
                .fetch(r -> new SellRequestItem(r.value1(), null, null, "sell", r.value2(), r.value3(), r.value4()));
        List<SellRequestItem> all = new ArrayList<>(known);
        all.addAll(neverSeen);
        return all;
    }

    private void checkSellRequest(long runId, SellRequestItem item, AtomicInteger findings) {
        MercuryoClient.CardUser user = cardUser(item.userUuid(), item.email(), item.ip(), item.id());
        MercuryoClient.SellRequestStatus api;
        try {
            api = client.sellRequestStatus(user, item.id());
        } catch (MercuryoApiException e) {
            if (e.code() == 404000) {
                raise(runId, findings, new IngestService.Finding("missing_at_mercuryo", item.id(), item.storedStatus(),
                        null, DetectedBy.RECONCILER, "{\"run_id\":" + runId + "}", runId, false));
                return;
            }
            throw e;
        }
        String apiStatus = api.status() == null ? null : api.status().trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (apiStatus == null || apiStatus.isEmpty() || apiStatus.equals(item.storedStatus())) {
                return;
            }
            applyApiStatus(runId, item, api, apiStatus, findings);
        } finally {
            // What Mercuryo said, for the report's "status from the API" (after any write above,
            // which may have created the row).
            dsl.update(TRANSACTION_STATE)
                    .set(TRANSACTION_STATE.API_STATUS, apiStatus)
                    .set(TRANSACTION_STATE.API_AMOUNT, api.amount())
                    .set(TRANSACTION_STATE.API_FIAT_AMOUNT, api.fiatAmount())
                    .set(TRANSACTION_STATE.API_CHECKED_AT, DSL.currentInstant())
                    .where(TRANSACTION_STATE.TRANSACTION_ID.eq(item.id()))
                    .execute();
        }
    }

    private void applyApiStatus(long runId, SellRequestItem item, MercuryoClient.SellRequestStatus api, String apiStatus,
                                AtomicInteger findings) {
        String type = item.type() == null ? "sell" : item.type();
        boolean further = item.storedStatus() == null
                || TransactionStatuses.isFinal(type, apiStatus)
                || TransactionStatuses.rank(type, apiStatus) > item.storedRank();
        if (!further) {
            // Mercuryo reports an earlier status than we hold: never move back; ask a human.
            raise(runId, findings, new IngestService.Finding("status_mismatch", item.id(), item.storedStatus(), apiStatus,
                    DetectedBy.RECONCILER, "{\"run_id\":" + runId + "}", runId, false));
            return;
        }
        ObjectNode data = Json.MAPPER.createObjectNode();
        data.put("id", item.id());
        data.put("type", type);
        data.put("status", apiStatus);
        data.put("source", "mercuryo_api:sell-request-status");
        if (api.cardId() != null) {
            data.put("card_id", api.cardId());
        }
        Callback.Transaction report = new Callback.Transaction(item.id(), type, apiStatus, clock.instant().getEpochSecond(),
                null, null, null, api.amount(), api.currency(), api.fiatAmount(), api.fiatCurrency(), null, null, null,
                item.userUuid(), null, data);
        if (ingest.recordMissedStatus(report, item.storedStatus(), runId) == Outcome.ACCEPTED) {
            findingsRaised.increment();
            findings.incrementAndGet();
            log.info("reconciliation run {}: sell request {} is {} at Mercuryo, we had {} (missed callback, now applied)",
                    runId, item.id(), apiStatus, item.storedStatus() == null ? "nothing" : item.storedStatus());
        }
    }

    // ---- cards ---------------------------------------------------------------------------

    record CardUserItem(String userUuid, String email, String ip, String cardId) {}

    List<CardUserItem> cardUsers() {
        return dsl.select(CARD_USER.USER_UUID, CARD_USER.EMAIL, CARD_USER.IP, CARD_USER.CARD_ID)
                .from(CARD_USER)
                .orderBy(CARD_USER.USER_UUID)
                .fetch(r -> new CardUserItem(r.value1(), r.value2(), r.value3(), r.value4()));
    }


    private void checkCard(long runId, CardUserItem item, AtomicInteger findings) {
        MercuryoClient.CardUser user = cardUser(item.userUuid(), item.email(), item.ip(), "card-user:" + item.userUuid());
        String cardId = item.cardId();
        if (cardId == null) {
            cardId = client.cardStatus(user).cardId();
            if (cardId == null) {
                throw new IllegalStateException("no card id known for user " + item.userUuid());
            }
            dsl.update(CARD_USER).set(CARD_USER.CARD_ID, cardId).where(CARD_USER.USER_UUID.eq(item.userUuid())).execute();
        }
        List<MercuryoClient.CardTransaction> listed = client.cardTransactions(user);
        List<JsonNode> reported = dsl.select(SPEND_CARD_EVENT.DATA).from(SPEND_CARD_EVENT)
                .where(SPEND_CARD_EVENT.CARD_ID.eq(cardId))
                .fetch(r -> Jsonb.read(r.value1()).get("transaction"))
                .stream().filter(n -> n != null && n.isObject()).toList();

        // Multiset difference: what the API lists that no callback reported.
        Map<CardMovement.Key, Integer> seen = new HashMap<>();
        BigDecimal runningTotal = BigDecimal.ZERO;
        String currency = null;
        for (JsonNode t : reported) {
            Optional<CardMovement> m = CardMovement.from(t);
            if (m.isEmpty()) {
                continue;
            }
            seen.merge(m.get().key(), 1, Integer::sum);
            runningTotal = runningTotal.add(m.get().balanceEffect());
            currency = m.get().currency();
        }
        Set<String> unseen = new HashSet<>();
        for (MercuryoClient.CardTransaction t : listed) {
            CardMovement m = new CardMovement(t.type().toUpperCase(java.util.Locale.ROOT),
                    t.status() == null ? "" : t.status().toUpperCase(java.util.Locale.ROOT), t.amount(),
                    t.currency().toUpperCase(java.util.Locale.ROOT), t.timestamp());
            if (seen.merge(m.key(), -1, Integer::sum) < 0) {
                String described = m.describe();
                unseen.add(described);
                raise(runId, findings, new IngestService.Finding("unseen_card_transaction", cardId, null, described,
                        DetectedBy.RECONCILER, movementJson(t, runId), runId, false));
            }
        }
        resolveExcept("unseen_card_transaction", cardId, unseen);

        MercuryoClient.Balance balance = client.cardBalance(user);
        BigDecimal api = balance.fiatAmount();
        dsl.update(CARD_USER)
                .set(CARD_USER.API_BALANCE, api)
                .set(CARD_USER.API_BALANCE_CURRENCY, balance.fiatCurrency())
                .set(CARD_USER.API_BALANCE_CHECKED_AT, DSL.currentInstant())
                .where(CARD_USER.USER_UUID.eq(item.userUuid()))
                .execute();
        if (api != null && api.compareTo(runningTotal) != 0) {
            String actual = api.toPlainString() + " " + balance.fiatCurrency();
            // Shown with the API's scale: 2500.00 EUR next to 2499.50 EUR, not 2500 EUR.
            BigDecimal expected = runningTotal.setScale(Math.max(api.scale(), runningTotal.scale()), java.math.RoundingMode.UNNECESSARY);
            raise(runId, findings, new IngestService.Finding("balance_drift", cardId,
                    expected.toPlainString() + " " + (currency != null ? currency : balance.fiatCurrency()), actual,
                    DetectedBy.RECONCILER, "{\"run_id\":" + runId + "}", runId, false));
            resolveExcept("balance_drift", cardId, Set.of(actual));
        } else {
            resolveExcept("balance_drift", cardId, Set.of());
        }
    }


    private static String movementJson(MercuryoClient.CardTransaction t, long runId) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("run_id", runId);
        n.put("type", t.type());
        n.put("status", t.status());
        n.put("amount", t.amount().toPlainString());
        n.put("currency", t.currency());
        n.put("timestamp", t.timestamp().toString());
        n.put("counterparty_name", t.counterpartyName());
        return n.toString();
    }

    /** Open findings of this kind and subject whose value is no longer observed are resolved. */
    private void resolveExcept(String kind, String subject, Set<String> stillObserved) {
        dsl.update(FINDING).set(FINDING.RESOLVED_AT, DSL.currentInstant())
                .where(FINDING.KIND.eq(kind)).and(FINDING.SUBJECT.eq(subject)).and(FINDING.RESOLVED_AT.isNull())
                .and(stillObserved.isEmpty() ? DSL.noCondition() : FINDING.ACTUAL.notIn(stillObserved))
                .execute();
    }

    // ---- shared --------------------------------------------------------------------------

    private void raise(long runId, AtomicInteger findings, IngestService.Finding finding) {
        boolean raised = ingest.inTransaction(tx -> ingest.raiseFinding(tx, finding));
        if (raised) {
            findings.incrementAndGet();
            findingsRaised.increment();
            log.info("reconciliation run {}: finding {} on {}: expected {}, actual {}",
                    runId, finding.kind(), finding.subject(), finding.expected(), finding.actual());
        }
    }

    private MercuryoClient.CardUser cardUser(String userUuid, String email, String ip, String item) {
        if (email == null) {
            throw new IllegalStateException("no e-mail known for user " + (userUuid == null ? "(unknown)" : userUuid)
                    + " of " + item + "; register it with PUT /api/card-users/{user_uuid}");
        }
        return new MercuryoClient.CardUser(userUuid, email, ip != null ? ip : config.defaultUserIp());
    }

    private void finish(long runId, String status, int checked, int findings, Errors errors) {
        try {
            dsl.update(RECONCILIATION_RUN)
                    .set(RECONCILIATION_RUN.STATUS, status)
                    .set(RECONCILIATION_RUN.FINISHED_AT, DSL.currentInstant())
                    .set(RECONCILIATION_RUN.ITEMS_CHECKED, checked)
                    .set(RECONCILIATION_RUN.FINDINGS, findings)
                    .set(RECONCILIATION_RUN.ERRORS, errors.count())
                    .set(RECONCILIATION_RUN.ERROR_DETAIL, JSONB.valueOf(errors.json()))
                    .where(RECONCILIATION_RUN.ID.eq(runId))
                    .execute();
        } catch (RuntimeException e) {
            // The row stays "running" with no finish time: visibly unfinished, and the next run goes on.
            log.error("reconciliation run {} could not be recorded as {}", runId, status, e);
        }
    }


    private static boolean tryLock(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select pg_try_advisory_lock(" + LOCK_KEY + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static void unlock(Connection c) {
        try (Statement s = c.createStatement()) {
            s.execute("select pg_advisory_unlock(" + LOCK_KEY + ")");
        } catch (SQLException e) {
            // Closing the connection below ends the session, which releases the lock anyway.
            log.debug("advisory unlock: {}", e.getMessage());
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Errors of one run: counted, and the first hundred kept with their item for the record. */
    private static final class Errors {
        private final List<Map<String, String>> kept = Collections.synchronizedList(new ArrayList<>());
        private final AtomicInteger count = new AtomicInteger();

        void add(String item, Exception e) {
            count.incrementAndGet();
            if (kept.size() < 100) {
                kept.add(Map.of("item", item, "error", e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage())));
            }
            log.warn("reconciliation item {} failed: {}", item, e.getMessage());
        }

        int count() {
            return count.get();
        }

        String json() {
            try {
                synchronized (kept) {
                    return Json.MAPPER.writeValueAsString(kept);
                }
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
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
