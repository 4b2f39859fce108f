package dev.mercuryobridge.outbox;

import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Database;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestDatabase;
import dev.mercuryobridge.testing.TestKafka;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.jooq.DSLContext;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A fresh database, topics of its own on the shared broker, and relays on them whose producers
 * write down every send ({@link RecordingProducer}): one for each test, made before it and closed
 * (relays first) after it, as {@code @RegisterExtension final RelayFixture f = new RelayFixture();}
 */
final class RelayFixture implements BeforeEachCallback, AfterEachCallback {
    /** Short time limits, so that a lease runs out within seconds. */
    static final KafkaClients.ProducerTimeouts SHORT =
            new KafkaClients.ProducerTimeouts(Duration.ofMillis(500), Duration.ofMillis(1_000), Duration.ofMillis(1_500));

    Config config;
    private Database database;
    private KafkaClients kafka;
    final Queue<RecordingProducer.Send> sends = new ConcurrentLinkedQueue<>();
    private final List<OutboxRelay> relays = new ArrayList<>();
    private int sequence;

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        config = Config.fromEnvironment(TestApp.env(TestDatabase.freshDatabaseUrl(),
                TestApp.kafkaEnv(TestKafka.shared().bootstrapServers())));
        database = Database.connect(config);
        database.migrate();
        kafka = new KafkaClients(config);
        try (Admin admin = kafka.admin()) {
            KafkaClients.ensureTopics(admin, config);
        }
    }

    static OutboxRelay.Settings settings(int batchSize, KafkaClients.ProducerTimeouts producer, Duration sendWindow) {
        return new OutboxRelay.Settings(batchSize, 4, Duration.ofMillis(100), producer, sendWindow, Duration.ofSeconds(60));
    }

    OutboxRelay relay(String name, OutboxRelay.Settings settings, OutboxRelay.Hooks hooks) {
        return relay(name, settings, hooks, Clock.systemUTC(), new SimpleMeterRegistry());
    }

    OutboxRelay relay(String name, OutboxRelay.Settings settings, OutboxRelay.Hooks hooks, Clock clock, MeterRegistry registry) {
        OutboxRelay relay = new OutboxRelay(config, database.dsl(),
                () -> new RecordingProducer(name, kafka.producer(settings.producer()), sends), kafka::admin,
                registry, settings, hooks, clock);
        relays.add(relay);
        return relay;
    }

    /** A relay on producers of the test's own (a model of the broker, say). */
    OutboxRelay relay(OutboxRelay.Settings settings, java.util.function.Supplier<org.apache.kafka.clients.producer.Producer<String, byte[]>> producers) {
        OutboxRelay relay = new OutboxRelay(config, database.dsl(), producers, kafka::admin, new SimpleMeterRegistry(), settings,
                OutboxRelay.Hooks.NONE, Clock.systemUTC());
        relays.add(relay);
        return relay;
    }

    DSLContext dsl() {
        return database.dsl();
    }

    String topic() {
        return config.topics().transactions();
    }

    KafkaConsumer<String, String> consumer() {
        return TestKafka.shared().consumer(topic());
    }

    /**
     * Appends {@code perKey} messages for each of {@code keys} keys in one transaction, keys taking
     * turns, each numbered 1, 2, … per key like a transaction's transitions. Returns the event ids.
     */
    List<String> append(String keyPrefix, int keys, int perKey) {
        List<OutboxMessage> messages = new ArrayList<>();
        for (int s = 1; s <= perKey; s++) {
            for (int k = 0; k < keys; k++) {
                messages.add(message(keyPrefix + k, s));
            }
        }
        dsl().transaction(c -> Outbox.appendAll(c.dsl(), messages));
        return messages.stream().map(OutboxMessage::eventId).toList();
    }

    /** A message of a transaction-like key with its sequence, as the consumers' helpers read it. */
    OutboxMessage message(String key, int sequence) {
        String id = "relay-test/" + key + "/" + sequence;
        String json = "{\"id\":\"" + id + "\",\"n\":" + (++this.sequence) + ",\"data\":{\"sequence\":" + sequence
                + ",\"pad\":\"" + "x".repeat(200) + "\"}}";
        return new OutboxMessage(topic(), key, id, "test", json.getBytes(StandardCharsets.UTF_8));
    }

    /** The session holding the relay lock in this database, or 0 when none does. */
    int lockHolder() {
        return dsl().fetchOptional("""
                select pid from pg_locks
                 where locktype = 'advisory' and granted and objsubid = 1
                   and database = (select oid from pg_database where datname = current_database())
                   and ((classid::bigint << 32) | objid::bigint) = ?""", RelaySession.LOCK_KEY)
                .map(r -> r.get(0, Integer.class)).orElse(0);
    }

    /** Ends a session as an operator would (or a failover of the database's proxy). */
    void terminate(int pid) {
        dsl().fetch("select pg_terminate_backend(?)", pid);
    }

    long term() {
        return dsl().fetchSingle("select term from outbox_relay_term").get(0, Long.class);
    }

    java.time.Instant leaseUntil() {
        return dsl().fetchSingle("select lease_until from outbox_relay_term").get(0, java.time.Instant.class);
    }

    /** Sessions of relays (lock or marker) still open in this database. */
    int relaySessions() {
        return dsl().fetchSingle("select count(*) from pg_stat_activity where datname = current_database() and application_name = ?",
                RelaySession.APPLICATION_NAME).get(0, Integer.class);
    }

    /**
     * The session of a relay's {@link RelayListener} that listens (its last statement the LISTEN:
     * within 10 s of connecting, before it first checks a silent session), or 0.
     */
    int listenerSession() {
        return dsl().fetchOptional("""
                select pid from pg_stat_activity
                 where datname = current_database() and application_name = ? and state = 'idle' and query = 'listen outbox'""",
                RelayListener.APPLICATION_NAME).map(r -> r.get(0, Integer.class)).orElse(0);
    }

    /** Sessions of relays' listeners still open in this database, listening or not. */
    int listenerSessions() {
        return dsl().fetchSingle("select count(*) from pg_stat_activity where datname = current_database() and application_name = ?",
                RelayListener.APPLICATION_NAME).get(0, Integer.class);
    }

    /** A NOTIFY on the relays' channel from a session that is no relay's: another instance's, a released term's. */
    void notifyRelays() {
        dsl().fetch("select pg_notify('outbox', '')");
    }

    /**
     * Lets no new session into this database (superusers neither), or lets them in again; the
     * sessions already open (this fixture's pool among them) stay.
     */
    void allowConnections(boolean allow) {
        String name = dsl().fetchSingle("select current_database()").get(0, String.class);
        // Not for the current database: from the server's postgres database.
        try (var c = TestDatabase.server().getPostgresDatabase().getConnection(); var s = c.createStatement()) {
            s.execute("alter database \"" + name + "\" with allow_connections " + allow);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("could not change allow_connections of " + name, e);
        }
    }

    int unpublished() {
        return dsl().fetchSingle("select count(*) from outbox_pending").get(0, Integer.class);
    }

    /**
     * Waits until the condition holds (checked every 20 ms), failing after {@code timeout}: for
     * states that only the database or the relay can tell, never as a stand-in for a step.
     */
    static void await(java.util.function.BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what, e);
            }
        }
    }

    /** Waits for a latch a hook counts down, so that a test goes on when the relay got there. */
    static void await(java.util.concurrent.CountDownLatch latch, String what) {
        try {
            if (!latch.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new AssertionError("timed out waiting until " + what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting until " + what, e);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        relays.forEach(OutboxRelay::close);
        if (database != null) {
            database.close();
        }
    }
}
