package dev.mercuryobridge;

import dev.mercuryobridge.admin.AdminRoutes;
import dev.mercuryobridge.http.BearerAuth;
import dev.mercuryobridge.http.Health;
import dev.mercuryobridge.admin.TransactionQueries;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.db.Timeouts;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.http.HttpServers;
import dev.mercuryobridge.ingest.CallbackMetrics;
import dev.mercuryobridge.ingest.CallbackPartitionMetrics;
import dev.mercuryobridge.ingest.CallbackPartitions;
import dev.mercuryobridge.ingest.CallbackRoutes;
import dev.mercuryobridge.ingest.IngestListener;
import dev.mercuryobridge.ingest.IngestQueue;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.ingest.QuarantineService;
import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.outbox.KafkaClients;
import dev.mercuryobridge.outbox.KafkaHealth;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.outbox.Outbox;
import dev.mercuryobridge.outbox.OutboxNotifier;
import dev.mercuryobridge.outbox.OutboxRelay;
import dev.mercuryobridge.mercuryo.MercuryoClient;
import dev.mercuryobridge.reconcile.ReconcileMetrics;
import dev.mercuryobridge.reconcile.ReconcileRoutes;
import dev.mercuryobridge.reconcile.Reconciler;
import dev.mercuryobridge.report.ReconciliationReport;
import dev.mercuryobridge.report.ReportRoutes;
import io.javalin.Javalin;
import io.micrometer.core.instrument.binder.db.PostgreSQLDatabaseMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The application, wired by hand: config, then the database, then the services, then HTTP.
 * {@link #start} is what {@code Main} runs and what the tests start, so both exercise one wiring.
 */
public final class App implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(App.class);

    private final Config config;
    private final Database database;
    private final Database reports;
    private final PrometheusMeterRegistry registry;
    private final ScheduledExecutorService maintenance;
    private final Javalin publicServer;
    private final Javalin adminServer;
    private final OutboxRelay relay;
    private final OutboxNotifier outboxNotifier;
    private final IngestQueue ingestQueue;
    private final KafkaHealth kafkaHealth;
    private final Reconciler reconciler;
    private final MercuryoClient mercuryo;
    private final AtomicBoolean closed = new AtomicBoolean();

    private App(Config config, Database database, Database reports, PrometheusMeterRegistry registry,
                ScheduledExecutorService maintenance, Javalin publicServer, Javalin adminServer,
                OutboxRelay relay, OutboxNotifier outboxNotifier, IngestQueue ingestQueue, KafkaHealth kafkaHealth, Reconciler reconciler,
                MercuryoClient mercuryo) {
        this.ingestQueue = ingestQueue;
        this.reconciler = reconciler;
        this.mercuryo = mercuryo;
        this.relay = relay;
        this.outboxNotifier = outboxNotifier;
        this.kafkaHealth = kafkaHealth;
        this.config = config;
        this.database = database;
        this.reports = reports;
        this.registry = registry;
        this.maintenance = maintenance;
        this.publicServer = publicServer;
        this.adminServer = adminServer;
    }

    public static App start(Config config) {
        return start(config, Clock.systemUTC());
    }

    /** Starts the service with every component on this clock (tests pass a fixed or moving one). */
    public static App start(Config config, Clock clock) {
        log.info("starting mercuryo-bridge with {}", config.masked());
        Database database = Database.connect(config);
        // Reports and the reconciler have a pool of their own: they can never take the callbacks' connections.
        Database reports = Database.connectReports(config);
        try {
            if (config.migrateOnStart()) {
                database.migrate();
            }
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            // Read from the database, so every replica reports them (the alert rules use them).
            new ReconcileMetrics(reports.dsl(), clock).bindTo(registry);
            new CallbackPartitionMetrics(reports.dsl()).bindTo(registry);

            ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(
                    Thread.ofPlatform().name("maintenance").daemon(true).factory());
            CallbackPartitions partitions = new CallbackPartitions(reports.dsl(), clock,
                    config.databaseLimits().partitionsAhead(), config.databaseLimits().partitionDdlTimeout(), maintenance,
                    Duration.ofMinutes(1));
            maintenance.scheduleWithFixedDelay(partitions::ensure, 0, 6, TimeUnit.HOURS);
            maintenance.scheduleWithFixedDelay(() -> Outbox.purgePublished(database.dsl(), config.outboxRetention(), clock),
                    1, 60, TimeUnit.MINUTES);

            SignatureVerifier verifier = new SignatureVerifier(config.signKeys(), config.signatureVariants().stream()
                    .map(SignatureVerifier.Variant::fromName).collect(java.util.stream.Collectors.toSet()));
            CallbackMetrics callbackMetrics = new CallbackMetrics(registry);
            Messages messages = new Messages(config.topics());
            Timeouts callbackTimeouts = new Timeouts(config.databaseLimits().lockTimeout(),
                    config.databaseLimits().statementTimeout());
            KafkaClients kafka = new KafkaClients(config);
            OutboxRelay relay = new OutboxRelay(config, database.dsl(), kafka, registry);
            // Every write that appends outbox rows signals it after its commit (no trigger: see V8).
            OutboxNotifier outboxNotifier = new OutboxNotifier(config, relay::wake, () -> relay.status().leader());
            IngestService ingest = new IngestService(callbackTimeouts.onEachTransaction(database.dsl()), messages,
                    callbackMetrics, outboxNotifier, clock);
            KafkaHealth kafkaHealth = new KafkaHealth(kafka.admin(), relay);
            QuarantineService quarantine = new QuarantineService(ingest, database.dsl(), clock);
            TransactionQueries transactions = new TransactionQueries(database.dsl());

            MercuryoClient mercuryo = new MercuryoClient(config.mercuryoApiBaseUrl(), config.mercuryoPartnerToken(),
                    new MercuryoClient.Settings(config.mercuryoApiTimeout(), 4, Duration.ofMillis(200), Duration.ofSeconds(5)));
            // The reconciler writes what the API says through the same write path, on its own pool.
            IngestService reconcilerIngest = new IngestService(callbackTimeouts.onEachTransaction(reports.dsl()), messages,
                    IngestListener.NONE, outboxNotifier, clock);
            Reconciler reconciler = new Reconciler(config, reports.dsl(), reconcilerIngest, new Findings(messages),
                    outboxNotifier, mercuryo, registry, clock);

            // Readiness is unauthenticated: it names what is down, never an address or an error text.
            Health health = new Health(clock)
                    .add("database", () -> database.reachable()
                            ? Health.Check.up("reachable")
                            : new Health.Check(Health.Status.DOWN, "unreachable"))
                    .add("migrations", () -> database.migrationsApplied()
                            ? Health.Check.up("applied")
                            : new Health.Check(Health.Status.DOWN, "pending migrations; run `migrate`"))
                    .add("kafka", kafkaHealth)
                    .add("relay", relay::health)
                    .add("reconciler", () -> reconcilerHealth(reconciler, config, clock));
            ReconcileRoutes reconcileRoutes = new ReconcileRoutes(reports.dsl(), reconciler);
            ReportRoutes reportRoutes = new ReportRoutes(new ReconciliationReport(reports.dsl(), clock),
                    config.reportMaxDays());

            IngestQueue ingestQueue = new IngestQueue(ingest, new IngestQueue.Settings(config.ingestQueueCapacity(),
                    config.ingestBatchSize(), config.ingestBatchLinger(), config.ingestWriters()), registry);
            CallbackRoutes callbackRoutes = new CallbackRoutes(verifier, ingestQueue, callbackMetrics, config.maxBodyBytes(),
                    clock);
            AdminRoutes adminRoutes = new AdminRoutes(health, registry, transactions, quarantine);

            Javalin publicServer = HttpServers.create("public", registry, config.shutdownTimeout(),
                    c -> callbackRoutes.register(c.routes));
            Javalin adminServer = HttpServers.create("admin", registry, config.shutdownTimeout(),
                    c -> {
                        // Every /api route of every feature needs the admin token.
                        c.routes.before("/api/*", new BearerAuth(config.adminToken()));
                        adminRoutes.register(c.routes);
                        reconcileRoutes.register(c.routes);
                        reportRoutes.register(c.routes);
                    });
            ingestQueue.start();
            publicServer.start(config.httpPort());
            adminServer.start(config.adminPort());
            outboxNotifier.start();
            relay.start();
            if (config.mercuryoPartnerToken().isEmpty()) {
                log.warn("MERCURYO_PARTNER_TOKEN is not set: scheduled reconciliation is off (runs can still be started on the admin API)");
            } else {
                reconciler.schedule();
            }
            App app = new App(config, database, reports, registry, maintenance, publicServer, adminServer, relay, outboxNotifier,
                    ingestQueue, kafkaHealth, reconciler, mercuryo);
            log.info("mercuryo-bridge is up: callbacks on :{}, admin on :{}", app.httpPort(), app.adminPort());
            return app;
        } catch (RuntimeException e) {
            reports.close();
            database.close();
            throw e;
        }
    }

    /**
     * The last reconciliation run, as readiness shows it: never down (callbacks do not depend on
     * it), degraded when the last run failed as a whole or none finished for three intervals. The
     * reason is on the run (admin API), not here: readiness is open to anyone.
     */
    private static Health.Check reconcilerHealth(Reconciler reconciler, Config config, Clock clock) {
        var last = reconciler.lastRun();
        if (last.isEmpty()) {
            return Health.Check.up("no run yet");
        }
        Reconciler.LastRun run = last.get();
        String where = "see /api/reconciliation/runs/" + run.id();
        if ("failed".equals(run.status())) {
            return new Health.Check(Health.Status.DEGRADED, "last run " + run.id() + " failed; " + where);
        }
        boolean scheduled = !config.mercuryoPartnerToken().isEmpty();
        java.time.Instant lastActivity = run.finishedAt() != null ? run.finishedAt() : run.startedAt();
        if (scheduled && lastActivity.isBefore(clock.instant().minus(config.reconcileInterval().multipliedBy(3)))) {
            return new Health.Check(Health.Status.DEGRADED, "no run for more than three intervals; last was run " + run.id());
        }
        return Health.Check.up("last run " + run.id() + " " + run.status());
    }

    public int httpPort() {
        return publicServer.port();
    }

    public int adminPort() {
        return adminServer.port();
    }

    /** The routes of the public port, as {@code "POST /callbacks/mercuryo"}; the OpenAPI document must name them all. */
    public List<String> publicRoutes() {
        return HttpServers.routes(publicServer);
    }

    /** The routes of the admin port, as {@code "GET /api/findings"}. */
    public List<String> adminRoutes() {
        return HttpServers.routes(adminServer);
    }

    public Database database() {
        return database;
    }

    /** The pool of reports and the reconciler. */
    public Database reportsDatabase() {
        return reports;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public OutboxRelay relay() {
        return relay;
    }

    public Reconciler reconciler() {
        return reconciler;
    }

    public Config config() {
        return config;
    }

    /**
     * Graceful shutdown: the public port stops accepting and finishes in-flight callbacks (each
     * either commits and gets its 200, or gets an error and is retried by Mercuryo), then the
     * admin port, then the pool is closed.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        log.info("shutting down: finishing in-flight requests (up to {})", config.shutdownTimeout());
        publicServer.stop();
        // Normally empty by now (every queued callback is an in-flight request the server waited
        // for); anything left is stored before the pool closes.
        ingestQueue.close(config.shutdownTimeout());
        reconciler.close();
        mercuryo.close();
        outboxNotifier.close();
        relay.close();
        adminServer.stop();
        kafkaHealth.close();
        maintenance.shutdownNow();
        reports.close();
        database.close();
        log.info("shut down");
    }
}
