package dev.mercuryobridge.outbox;

import dev.mercuryobridge.http.Health;
import dev.mercuryobridge.config.Config;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Publishes outbox rows to Kafka in id order and marks them published.
 *
 * <p><b>One publisher, fenced.</b> Every instance runs a relay; only the holder of a PostgreSQL
 * session advisory lock publishes, and it reads the outbox on that same session
 * ({@link RelaySession}): a relay whose session is gone cannot read another batch. What it had
 * already handed to its producer is fenced by <em>terms</em> (table {@code outbox_relay_term}): a
 * publisher hands a message to its producer only inside the send window of its term's lease
 * (renewed on its session while it publishes), and the producer answers every message within its
 * {@linkplain KafkaClients.ProducerTimeouts#tail() tail}, so nothing of a term reaches Kafka after
 * the term's {@code lease_until}. A relay that takes the lock starts publishing only once the
 * previous term is released (its publisher saw every send answered, then said so) or its lease
 * has run out, and a term's marks ({@link Marker}) change nothing once a later term has begun.
 * Two relays therefore never publish at once, even when a session is killed mid-backlog.
 *
 * <p><b>Fast, in order, at least once.</b> See {@link Publisher}: batches read in id order and
 * sent without waiting, several in flight on one idempotent producer (which keeps their order per
 * partition), marked on a second session once Kafka acknowledged all of each. A crash between
 * acknowledgement and mark re-sends the same stored bytes with the same CloudEvent id. Rows a
 * transaction commits below rows already sent (ids are handed out before commit) are noticed when
 * the next batch is read, and sent before anything newer.
 *
 * <p><b>Failures.</b> Any {@link Throwable} ends the pass: the relay waits for what it sent to be
 * answered, releases its term, closes its sessions (the lock passes on) and starts again after a
 * backoff (up to 5 s). A Kafka outage is such a failure, again and again, while the backlog waits
 * in PostgreSQL. Readiness and {@code outbox_relay_alive} show a relay that stopped or got stuck.
 */
public final class OutboxRelay implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    private static final AtomicInteger RELAYS = new AtomicInteger();

    /** Batching and timing; {@code producer}: the given producers' limits (a term's lease: their tail + sendWindow). */
    record Settings(int batchSize, int batchesInFlight, Duration poll, KafkaClients.ProducerTimeouts producer,
                    Duration sendWindow, Duration stallLimit) {
        static final Settings DEFAULTS = new Settings(2_000, 4, Duration.ofSeconds(1),
                KafkaClients.ProducerTimeouts.DEFAULT, Duration.ofSeconds(5), Duration.ofSeconds(60));

        Duration lease() {
            return producer.tail().plus(sendWindow);
        }
    }

    /** What a test may do at the relay's steps: before sending on the relay's thread, before marking on the marker's. */
    interface Hooks {
        Hooks NONE = new Hooks() {};

        /** A batch was read and is about to be sent. */
        default void beforeSend(List<Long> ids) {}

        /** Kafka acknowledged these rows; they are about to be marked published. */
        default void beforeMark(List<Long> ids) {}

        /** A pass failed; the status shows it, and the relay is about to let go of everything. */
        default void failed(Throwable cause) {}
    }

    /** What the relay last knew: for readiness and for operators. */
    public record Status(boolean leader, Instant lastSuccessAt, Instant lastErrorAt, String lastError) {
        boolean failing() {
            return lastErrorAt != null && (lastSuccessAt == null || lastErrorAt.isAfter(lastSuccessAt));
        }
    }

    private final Config config;
    private final Supplier<Producer<String, byte[]>> producers;
    private final Supplier<Admin> admins;
    private final Settings settings;
    private final Hooks hooks;
    private final Clock clock;
    private final String holder;
    private final Thread thread;
    private final OutboxBacklog backlog;
    private final Timer publishLatency;
    private final Counter published;
    private final Counter publishErrors;
    private final AtomicReference<Status> status = new AtomicReference<>(new Status(false, null, null, null));
    private final Semaphore progress = new Semaphore(0);
    private final RelayListener listener;
    private volatile boolean running = true;
    private volatile boolean started, stopped;
    private volatile Instant lastLoop;
    /** When a loop last went through without a failure (publishing, or standing by). */
    private volatile Instant lastGoodLoop;

    // The relay thread's own state (or publishOnce's caller's).
    private RelaySession session;
    private Publisher publisher;
    private boolean locked;
    private boolean topicsReady;
    private long term;
    private long termToRelease;
    private long settleMillis;

    public OutboxRelay(Config config, DSLContext dsl, KafkaClients kafka, MeterRegistry registry) {
        this(config, dsl, kafka::producer, kafka::admin, registry, Settings.DEFAULTS, Hooks.NONE, Clock.systemUTC());
    }

    OutboxRelay(Config config, DSLContext dsl, Supplier<Producer<String, byte[]>> producers, Supplier<Admin> admins,
                MeterRegistry registry, Settings settings, Hooks hooks, Clock clock) {
        this.config = config;
        this.producers = producers;
        this.admins = admins;
        this.settings = settings;
        this.hooks = hooks;
        this.clock = clock;
        this.lastLoop = clock.instant();
        this.holder = ManagementFactory.getRuntimeMXBean().getName() + "#" + RELAYS.incrementAndGet();
        this.backlog = new OutboxBacklog(dsl, clock, registry);
        this.listener = new RelayListener(config.databaseUrl(), config.databaseUser(), config.databasePassword());
        this.publishLatency = Timer.builder("outbox.publish.latency")
                .description("From the outbox row's commit to the broker's acknowledgement")
                .publishPercentileHistogram()
                .register(registry);
        this.published = Counter.builder("outbox.published").description("Messages acknowledged by Kafka").register(registry);
        this.publishErrors = Counter.builder("outbox.publish.errors").description("Failed publish attempts").register(registry);
        Gauge.builder("outbox.relay.leader", () -> status.get().leader() ? 1 : 0)
                .description("1 on the instance whose relay is publishing").register(registry);
        Gauge.builder("outbox.relay.alive", () -> alive() ? 1 : 0)
                .description("1 while this instance's relay runs (publishing or standing by); 0 when it stopped or got stuck")
                .register(registry);
        Gauge.builder("outbox.relay.loop.age", () -> loopAge().toMillis() / 1000.0).baseUnit("seconds")
                .description("Time since the relay's loop last ran").register(registry);
        this.thread = new Thread(this::run, "outbox-relay");
        this.thread.setDaemon(true);
    }

    public OutboxRelay start() {
        started = true;
        thread.start();
        return this;
    }

    /** Rows were committed to the outbox in this JVM: an idle relay reads within ms, not at its next poll. */
    public void wake() {
        listener.wake();
    }

    public Status status() {
        return status.get();
    }

    /** Unpublished rows (read from the database at most once a second), or -1 when it cannot be read. */
    long backlog() {
        return backlog.rows();
    }

    /** Readiness: down when the relay stopped or has not run for the stall limit. */
    public Health.Check health() {
        if (!alive()) {
            return new Health.Check(Health.Status.DOWN, stopped || (started && !thread.isAlive())
                    ? "the outbox relay has stopped; this instance publishes nothing"
                    : "the outbox relay has not run for " + loopAge().toSeconds() + " s");
        }
        Status s = status.get();
        Instant good = lastGoodLoop;
        if (s.lastErrorAt() != null && (good == null || s.lastErrorAt().isAfter(good))) {
            return new Health.Check(Health.Status.DEGRADED, "restarting after a failure at " + s.lastErrorAt());
        }
        return Health.Check.up(s.leader() ? "publishing" : "standing by");
    }

    boolean alive() {
        return !stopped && (!started || thread.isAlive()) && loopAge().compareTo(settings.stallLimit()) <= 0;
    }

    private Duration loopAge() {
        return Duration.between(lastLoop, clock.instant());
    }

    private void beat() {
        lastLoop = clock.instant();
    }

    /**
     * One synchronous pass, for tests: takes the lock and a term if it can, publishes what is
     * visible now and returns the event ids it marked published, in order (none while another relay
     * publishes). A failure is thrown after the relay let go of everything, as in the background.
     */
    synchronized List<String> publishOnce() throws Exception {
        if (started) {
            throw new IllegalStateException("the relay runs on its own thread");
        }
        try {
            beat();
            List<String> marked = new ArrayList<>();
            if (lead()) {
                pass(marked);
            }
            lastGoodLoop = clock.instant();
            return marked;
        } catch (Throwable t) {
            fail(t);
            throw t;
        }
    }

    private void run() {
        long backoffMillis = 100;
        try {
            while (running) {
                try {
                    beat();
                    if (!lead()) {
                        session.awaitWake(settings.poll(), listener.wakeups());
                        lastGoodLoop = clock.instant();
                        continue;
                    }
                    int sent = pass(null);
                    lastGoodLoop = clock.instant();
                    backoffMillis = 100;
                    if (sent == 0 && running) {
                        session.awaitWake(settings.poll(), listener.wakeups());
                    }
                } catch (Throwable t) {
                    if (!running) {
                        break;
                    }
                    log.warn("outbox relay: {} (starting again in {} ms; messages stay in the outbox)", describe(t), backoffMillis,
                            t instanceof Error ? t : null);
                    fail(t);
                    pause(backoffMillis);
                    backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.toMillis());
                }
            }
        } finally {
            letGo();
        }
    }

    /** Opens the session, then takes the lock and starts a term if it can; true when this relay may publish. */
    private boolean lead() throws SQLException {
        if (session == null) {
            listener.start();
            session = RelaySession.open(config.databaseUrl(), config.databaseUser(), config.databasePassword());
            if (termToRelease != 0) {
                session.release(termToRelease, settleMillis);
                termToRelease = 0;
            }
        }
        if (term != 0) {
            return true;
        }
        if (!locked && !(locked = session.tryLock())) {
            setStatus(false, null, null);
            return false;
        }
        boolean told = false;
        while (running) {
            long before = System.nanoTime();
            long next = session.tryStartTerm(holder, settings.lease());
            if (next > 0) {
                term = next;
                Marker marker = Marker.open(config.databaseUrl(), config.databaseUser(), config.databasePassword(),
                        term, hooks, this::marked, progress);
                Producer<String, byte[]> producer;
                try {
                    producer = producers.get();
                } catch (RuntimeException e) {
                    marker.close();
                    throw e;
                }
                publisher = new Publisher(session, term, before + settings.sendWindow().toNanos(), settings, hooks, producer,
                        marker, progress, created -> publishLatency.record(clock.millis() - created, TimeUnit.MILLISECONDS));
                log.info("outbox relay: this instance is now the publisher (term {}, session {})", term, session.pid());
                setStatus(true, null, null);
                return true;
            }
            if (!told) {
                log.info("outbox relay: holds the lock; waiting up to {} ms for the previous publisher's sends to settle", -next);
                told = true;
            }
            beat();
            session.awaitWake(Duration.ofMillis(Math.min(-next, 200)), listener.notifications());
        }
        return false;
    }

    private int pass(List<String> marked) throws Exception {
        if (!topicsReady) {
            try (Admin admin = admins.get()) {
                KafkaClients.ensureTopics(admin, config);
            }
            topicsReady = true;
        }
        return publisher.pass(marked, () -> running);
    }

    /**
     * After any failure, and at the end: waits for what was sent to be answered, closes the
     * session (the lock passes on) and releases the term if every send was answered in time;
     * otherwise the term's lease runs out on its own. The next attempt starts afresh.
     */
    private void fail(Throwable cause) {
        publishErrors.increment();
        setStatus(false, null, cause);
        hooks.failed(cause);
        topicsReady = topicsReady && !(cause instanceof UnknownTopicOrPartitionException);
        letGo();
    }

    private void letGo() {
        long settle = publisher == null ? 0 : publisher.close();
        publisher = null;
        if (term != 0 && settle >= 0) {
            termToRelease = term;
            settleMillis = settle;
        }
        term = 0;
        locked = false;
        progress.drainPermits();
        if (session != null) {
            session.close();
            session = null;
        }
        if (termToRelease != 0) {
            // A fresh session, so that the release (and its NOTIFY) comes after the lock is free.
            try (RelaySession s = RelaySession.open(config.databaseUrl(), config.databaseUser(), config.databasePassword())) {
                s.release(termToRelease, settleMillis);
                termToRelease = 0;
            } catch (SQLException | RuntimeException e) {
                log.warn("outbox relay: could not release term {} ({}); the next publisher waits for its lease", termToRelease,
                        describe(e));
            }
        }
        setStatus(false, null, null);
    }

    /** The marker committed a mark of {@code rows} rows (on the marker's thread). */
    private void marked(int rows) {
        published.increment(rows);
        setStatus(true, clock.instant(), null);
    }

    private void setStatus(boolean isLeader, Instant success, Throwable error) {
        status.updateAndGet(s -> new Status(isLeader,
                success != null ? success : s.lastSuccessAt(),
                error != null ? clock.instant() : s.lastErrorAt(),
                error != null ? describe(error) : s.lastError()));
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops reading, lets the batches in flight finish, releases the term, gives up the lock, stops listening. */
    @Override
    public void close() {
        running = false;
        listener.close();
        if (started) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(20));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            synchronized (this) {
                letGo();
            }
        }
        stopped = true;
    }
}
