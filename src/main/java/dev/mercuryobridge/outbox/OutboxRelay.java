package dev.mercuryobridge.outbox;

import dev.mercuryobridge.config.Config;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.jooq.DSLContext;
import org.jooq.Record5;
import org.jooq.impl.DSL;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;

/**
 * Publishes outbox rows to Kafka in id order and marks them published.
 *
 * <p><b>One active relay.</b> Every instance runs a relay, but only the holder of a PostgreSQL
 * session advisory lock publishes; the others stand by and take over when its session ends. The
 * lock lives on a dedicated connection that also LISTENs for the outbox trigger's NOTIFY, so the
 * relay wakes at commit instead of waiting for a timer (it still polls every second).
 *
 * <p><b>Order and duplicates.</b> A transaction's transitions are committed one after the other
 * (the state row is locked), so reading unpublished rows by id yields them in sequence order. A
 * batch is sent, every acknowledgement awaited, and only the acknowledged prefix marked. A crash
 * between send and mark re-sends the same stored bytes, with the same CloudEvent id.
 *
 * <p><b>Kafka down.</b> Sends fail fast, the relay backs off (up to 5 s) and retries; the backlog
 * grows in PostgreSQL and drains in order when the broker returns.
 */
public final class OutboxRelay implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);
    /** Advisory lock key: "mercuryo-bridge outbox relay". */
    static final long LOCK_KEY = 0x6d72627276_6c6179L;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    private static final int POLL_MILLIS = 1_000;
    /** Rows read, sent (all before waiting for any acknowledgement) and marked at once. */
    static final int BATCH_SIZE = 2_000;

    /** What a test may do between the send being acknowledged and the rows being marked. */
    @FunctionalInterface
    interface AfterSend {
        void run(List<Long> acknowledgedIds);
    }

    private final Config config;
    private final DSLContext dsl;
    private final Supplier<Producer<String, byte[]>> producers;
    private final Supplier<Admin> admins;
    private final int batchSize;
    private final AfterSend afterSend;
    private final Thread thread;
    private volatile boolean running = true;

    private final Timer publishLatency;
    private final Counter published;
    private final Counter publishErrors;
    private final AtomicLong backlog = new AtomicLong();
    private final AtomicLong oldestAgeMillis = new AtomicLong();
    private final AtomicReference<Status> status = new AtomicReference<>(new Status(false, null, null, null));

    private Producer<String, byte[]> producer;
    private Connection listener;
    private boolean leader;
    private boolean topicsReady;
    private long lastGaugeUpdate;

    /** What the relay last knew: for readiness and for operators. */
    public record Status(boolean leader, Instant lastSuccessAt, Instant lastErrorAt, String lastError) {
        public boolean failing() {
            return lastErrorAt != null && (lastSuccessAt == null || lastErrorAt.isAfter(lastSuccessAt));
        }
    }

    public OutboxRelay(Config config, DSLContext dsl, KafkaClients kafka, MeterRegistry registry) {
        this(config, dsl, kafka::producer, kafka::admin, registry, BATCH_SIZE, ids -> {});
    }

    OutboxRelay(Config config, DSLContext dsl, Supplier<Producer<String, byte[]>> producers, Supplier<Admin> admins,
                MeterRegistry registry, int batchSize, AfterSend afterSend) {
        this.config = config;
        this.dsl = dsl;
        this.producers = producers;
        this.admins = admins;
        this.batchSize = batchSize;
        this.afterSend = afterSend;
        this.publishLatency = Timer.builder("outbox.publish.latency")
                .description("From the outbox row's commit to the broker's acknowledgement")
                .publishPercentileHistogram()
                .register(registry);
        this.published = Counter.builder("outbox.published").description("Messages acknowledged by Kafka").register(registry);
        this.publishErrors = Counter.builder("outbox.publish.errors").description("Failed publish attempts").register(registry);
        Gauge.builder("outbox.backlog", backlog, AtomicLong::get).description("Unpublished outbox rows").register(registry);
        Gauge.builder("outbox.oldest.age", oldestAgeMillis, a -> a.get() / 1000.0).baseUnit("seconds")
                .description("Age of the oldest unpublished outbox row").register(registry);
        Gauge.builder("outbox.relay.leader", () -> status.get().leader() ? 1 : 0)
                .description("1 on the instance whose relay is publishing").register(registry);
        this.thread = new Thread(this::run, "outbox-relay");
        this.thread.setDaemon(true);
    }

    public OutboxRelay start() {
        thread.start();
        return this;
    }

    public Status status() {
        return status.get();
    }

    public long backlog() {
        return backlog.get();
    }

    private void run() {
        long backoffMillis = 100;
        while (running) {
            try {
                connectListener();
                if (!leader) {
                    leader = tryLock();
                    if (leader) {
                        log.info("outbox relay: this instance is now the publisher");
                        setStatus(true, null, null);
                    }
                }
                updateGauges(false);
                if (!leader) {
                    waitForNotification();
                    continue;
                }
                if (!topicsReady) {
                    try (Admin admin = admins.get()) {
                        KafkaClients.ensureTopics(admin, config);
                    }
                    topicsReady = true;
                }
                int sent = publishBatch();
                backoffMillis = 100;
                if (sent == 0) {
                    waitForNotification();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                publishErrors.increment();
                setStatus(leader, null, e);
                log.warn("outbox relay: {} (retrying in {} ms; messages stay in the outbox)", describe(e), backoffMillis);
                resetAfterFailure(e);
                refreshGaugesQuietly();
                sleep(backoffMillis);
                backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF.toMillis());
            }
        }
        closeQuietly();
    }

    /** Sends one batch in id order; returns how many rows were acknowledged and marked. */
    private int publishBatch() throws Exception {
        List<Record5<Long, String, String, byte[], Instant>> rows = dsl
                .select(OUTBOX.ID, OUTBOX.TOPIC, OUTBOX.MESSAGE_KEY, OUTBOX.PAYLOAD, OUTBOX.CREATED_AT)
                .from(OUTBOX)
                .where(OUTBOX.PUBLISHED_AT.isNull())
                .orderBy(OUTBOX.ID)
                .limit(batchSize)
                .fetch();
        if (rows.isEmpty()) {
            return 0;
        }
        if (producer == null) {
            producer = producers.get();
        }
        List<Future<RecordMetadata>> acks = new ArrayList<>(rows.size());
        for (var row : rows) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(row.value2(), null, row.value3(), row.value4(),
                    List.of(new RecordHeader("content-type", Messages.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8))));
            Future<RecordMetadata> ack = producer.send(record);
            acks.add(ack);
            if (ack.isDone() && failed(ack)) {
                break;   // broker unreachable: do not wait max.block.ms for every remaining row
            }
        }
        List<Long> acknowledged = new ArrayList<>(rows.size());
        Exception failure = null;
        for (int i = 0; i < acks.size(); i++) {
            try {
                acks.get(i).get();
                acknowledged.add(rows.get(i).value1());
                publishLatency.record(Duration.between(rows.get(i).value5(), Instant.now()));
            } catch (ExecutionException e) {
                // Stop at the first failure: later rows are re-sent after it, never before it.
                failure = e.getCause() instanceof Exception c ? c : e;
                break;
            }
        }
        afterSend.run(acknowledged);
        if (!acknowledged.isEmpty()) {
            // One statement with one array parameter, however large the batch.
            dsl.update(OUTBOX).set(OUTBOX.PUBLISHED_AT, DSL.currentInstant())
                    .where(OUTBOX.ID.eq(DSL.any(acknowledged.toArray(Long[]::new))))
                    .execute();
            published.increment(acknowledged.size());
            setStatus(true, Instant.now(), null);
        }
        // The backlog gauges (a count over the unpublished rows) refresh on their own timer, at
        // most once a second, never per batch.
        updateGauges(false);
        if (failure != null) {
            throw failure;
        }
        return acknowledged.size();
    }

    private static boolean failed(Future<RecordMetadata> ack) {
        try {
            ack.get();
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        } catch (ExecutionException e) {
            return true;
        }
    }

    private void connectListener() throws SQLException {
        if (listener != null && !listener.isClosed()) {
            return;
        }
        leader = false;
        listener = DriverManager.getConnection(config.databaseUrl(), config.databaseUser(), config.databasePassword());
        try (Statement s = listener.createStatement()) {
            s.execute("LISTEN outbox");
        }
    }

    private boolean tryLock() throws SQLException {
        try (Statement s = listener.createStatement(); ResultSet rs = s.executeQuery("select pg_try_advisory_lock(" + LOCK_KEY + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private void waitForNotification() throws SQLException {
        // Returns at the first NOTIFY (a commit that added outbox rows) or after the poll interval.
        listener.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
        if (!listener.isValid(1)) {
            throw new SQLException("the relay's database session was lost", "08006");
        }
    }

    private void updateGauges(boolean force) {
        long now = System.currentTimeMillis();
        if (!force && now - lastGaugeUpdate < 1_000) {
            return;
        }
        lastGaugeUpdate = now;
        var r = dsl.select(DSL.count(), DSL.min(OUTBOX.CREATED_AT)).from(OUTBOX).where(OUTBOX.PUBLISHED_AT.isNull()).fetchSingle();
        backlog.set(r.value1());
        oldestAgeMillis.set(r.value2() == null ? 0 : Math.max(0, now - r.value2().toEpochMilli()));
    }

    private void refreshGaugesQuietly() {
        try {
            updateGauges(false);
        } catch (RuntimeException e) {
            log.debug("outbox gauges not refreshed: {}", e.getMessage());
        }
    }

    private void resetAfterFailure(Exception e) {
        // A fresh producer after any failure: no state from a failed send carries over.
        if (producer != null) {
            try {
                producer.close(Duration.ofSeconds(1));
            } catch (RuntimeException closing) {
                log.debug("closing the failed producer: {}", closing.getMessage());
            }
            producer = null;
        }
        topicsReady = topicsReady && !(e instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException);
        try {
            if (listener != null && !listener.isValid(1)) {
                listener.close();
            }
        } catch (SQLException closing) {
            listener = null;
        }
    }

    private void setStatus(boolean isLeader, Instant success, Exception error) {
        status.updateAndGet(s -> new Status(isLeader,
                success != null ? success : s.lastSuccessAt(),
                error != null ? Instant.now() : s.lastErrorAt(),
                error != null ? describe(error) : s.lastError()));
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeQuietly() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
            producer = null;
        }
        if (listener != null) {
            try {
                listener.close();   // ends the session: the advisory lock passes to another instance
            } catch (SQLException e) {
                log.debug("closing the relay's session: {}", e.getMessage());
            }
        }
    }

    /** Stops publishing, lets the current batch finish, and gives up the lock. */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(20));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
