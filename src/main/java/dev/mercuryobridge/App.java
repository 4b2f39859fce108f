package dev.mercuryobridge;

import dev.mercuryobridge.admin.AdminRoutes;
import dev.mercuryobridge.admin.Health;
import dev.mercuryobridge.admin.TransactionQueries;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.db.generated.Routines;
import dev.mercuryobridge.http.HttpServers;
import dev.mercuryobridge.ingest.CallbackMetrics;
import dev.mercuryobridge.ingest.CallbackRoutes;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.ingest.QuarantineService;
import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.outbox.KafkaClients;
import dev.mercuryobridge.outbox.KafkaHealth;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.outbox.Outbox;
import dev.mercuryobridge.outbox.OutboxRelay;
import dev.mercuryobridge.mercuryo.MercuryoClient;
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
import java.time.LocalDate;
import java.time.ZoneOffset;
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
    private final PrometheusMeterRegistry registry;
    private final ScheduledExecutorService maintenance;
    private final Javalin publicServer;
    private final Javalin adminServer;
    private final OutboxRelay relay;
    private final KafkaHealth kafkaHealth;
    private final Reconciler reconciler;
    private final MercuryoClient mercuryo;
    private final AtomicBoolean closed = new AtomicBoolean();

    private App(Config config, Database database, PrometheusMeterRegistry registry,
                ScheduledExecutorService maintenance, Javalin publicServer, Javalin adminServer,
                OutboxRelay relay, KafkaHealth kafkaHealth, Reconciler reconciler, MercuryoClient mercuryo) {
        this.reconciler = reconciler;
        this.mercuryo = mercuryo;
        this.relay = relay;
        this.kafkaHealth = kafkaHealth;
        this.config = config;
        this.database = database;
        this.registry = registry;
        this.maintenance = maintenance;
        this.publicServer = publicServer;
        this.adminServer = adminServer;
    }

    public static App start(Config config) {
        log.info("starting mercuryo-bridge with {}", config.masked());
        Database database = Database.connect(config);
        try {
            if (config.migrateOnStart()) {
                database.migrate();
            }
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);

            ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "maintenance");
                t.setDaemon(true);
                return t;
            });
            maintenance.scheduleWithFixedDelay(() -> ensurePartitions(database), 0, 6, TimeUnit.HOURS);
            maintenance.scheduleWithFixedDelay(() -> Outbox.purgePublished(database.dsl(), config.outboxRetention()),
                    1, 60, TimeUnit.MINUTES);

            SignatureVerifier verifier = new SignatureVerifier(config.signKeys(), config.signatureVariants().stream()
                    .map(SignatureVerifier.Variant::fromName).collect(java.util.stream.Collectors.toSet()));
            CallbackMetrics callbackMetrics = new CallbackMetrics(registry);
            IngestService ingest = new IngestService(database.dsl(), new Messages(config.topics()), callbackMetrics);
            KafkaClients kafka = new KafkaClients(config);
            OutboxRelay relay = new OutboxRelay(config, database.dsl(), kafka, registry);
            KafkaHealth kafkaHealth = new KafkaHealth(kafka.admin(), relay);
            QuarantineService quarantine = new QuarantineService(ingest, database.dsl());
            TransactionQueries transactions = new TransactionQueries(database.dsl());

            // Readiness is unauthenticated: it names what is down, never an address or an error text.
            Health health = new Health(Clock.systemUTC())
                    .add("database", () -> database.reachable()
                            ? Health.Check.up("reachable")
                            : new Health.Check(Health.Status.DOWN, "unreachable"))
                    .add("migrations", () -> database.migrationsApplied()
                            ? Health.Check.up("applied")
                            : new Health.Check(Health.Status.DOWN, "pending migrations; run `migrate`"))
                    .add("kafka", kafkaHealth);

            MercuryoClient mercuryo = new MercuryoClient(config.mercuryoApiBaseUrl(), config.mercuryoPartnerToken(),
                    new MercuryoClient.Settings(config.mercuryoApiTimeout(), 4, Duration.ofMillis(200), Duration.ofSeconds(5)));
            Reconciler reconciler = new Reconciler(config, database.dsl(), ingest, mercuryo,
                    registry, Clock.systemUTC());
            ReconcileRoutes reconcileRoutes = new ReconcileRoutes(database.dsl(), reconciler);
            ReportRoutes reportRoutes = new ReportRoutes(new ReconciliationReport(database.dsl(), Clock.systemUTC()),
                    config.reportMaxDays());

            CallbackRoutes callbackRoutes = new CallbackRoutes(verifier, ingest, callbackMetrics, config.maxBodyBytes(),
                    Clock.systemUTC());
            AdminRoutes adminRoutes = new AdminRoutes(config.adminToken(), health, registry, transactions, quarantine);

            Javalin publicServer = HttpServers.create("public", registry, config.shutdownTimeout(),
                    c -> callbackRoutes.register(c.routes));
            Javalin adminServer = HttpServers.create("admin", registry, config.shutdownTimeout(),
                    c -> {
                        adminRoutes.register(c.routes);
                        reconcileRoutes.register(c.routes);
                        reportRoutes.register(c.routes);
                    });
            publicServer.start(config.httpPort());
            adminServer.start(config.adminPort());
            relay.start();
            if (config.mercuryoPartnerToken().isEmpty()) {
                log.warn("MERCURYO_PARTNER_TOKEN is not set: scheduled reconciliation is off (runs can still be started on the admin API)");
            } else {
                reconciler.schedule();
            }
            App app = new App(config, database, registry, maintenance, publicServer, adminServer, relay, kafkaHealth,
                    reconciler, mercuryo);
            log.info("mercuryo-bridge is up: callbacks on :{}, admin on :{}", app.httpPort(), app.adminPort());
            return app;
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
    }

    /** Keeps monthly partitions of the raw callback table prepared ahead of time. */
    private static void ensurePartitions(Database database) {
        try {
            Routines.ensureCallbackPartitions(database.dsl().configuration(),
                    LocalDate.now(ZoneOffset.UTC).withDayOfMonth(1), 3);
        } catch (RuntimeException e) {
            // Rows still land in the default partition; the next run tries again.
            log.warn("could not prepare callback partitions: {}", e.getMessage());
        }
    }

    public int httpPort() {
        return publicServer.port();
    }

    public int adminPort() {
        return adminServer.port();
    }

    public Database database() {
        return database;
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
        reconciler.close();
        mercuryo.close();
        relay.close();
        adminServer.stop();
        kafkaHealth.close();
        maintenance.shutdownNow();
        database.close();
        log.info("shut down");
    }
}
