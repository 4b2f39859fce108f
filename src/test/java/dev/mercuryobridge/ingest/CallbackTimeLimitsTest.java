package dev.mercuryobridge.ingest;

import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.db.Timeouts;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The callback path's time limits against a row locked by another session: that callback fails
 * fast with 503 and {@code Retry-After} (Mercuryo retries), once, never retried as a broken
 * connection; everything else keeps being stored; reports have a pool of their own.
 */
class CallbackTimeLimitsTest {
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(1);
    private static final int REPORTS_POOL = 2;
    @RegisterExtension
    static final TestApp app = TestApp.perClass(Map.of(
                "DATABASE_LOCK_TIMEOUT", LOCK_TIMEOUT.toString(),
                "DATABASE_REPORTS_POOL_SIZE", String.valueOf(REPORTS_POOL),
                "INGEST_WRITERS", "2"));

    @Test
    void a_callback_of_a_locked_transaction_answers_503_in_the_lock_timeout_while_another_answers_200() throws Exception {
        String stuck = "tl-stuck";
        String other = otherShard(stuck);
        assertThat(app.postCallback(TRANSACTION_PATH, transaction(stuck, "buy", "new", 100)).statusCode()).isEqualTo(200);
        String pending = transaction(stuck, "buy", "pending", 200);

        HttpResponse<String> refused;
        long refusedMillis;
        try (Connection holder = lockState(stuck)) {
            long started = System.nanoTime();
            CompletableFuture<HttpResponse<String>> answer = CompletableFuture.supplyAsync(
                    () -> app.postCallback(TRANSACTION_PATH, pending));
            awaitLockWaiter();

            long otherStarted = System.nanoTime();
            assertThat(app.postCallback(TRANSACTION_PATH, transaction(other, "buy", "new", 100)).statusCode()).isEqualTo(200);
            assertThat(millisSince(otherStarted)).as("the other callback does not wait for the lock").isLessThan(LOCK_TIMEOUT.toMillis());

            refused = answer.get(30, TimeUnit.SECONDS);
            refusedMillis = millisSince(started);
            holder.rollback();
        }
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("5");
        assertThat(Json.MAPPER.readTree(refused.body()).get("error").asText()).isEqualTo("database_timeout");
        // One wait for the lock, not three (a timeout is not retried as a broken connection).
        assertThat(refusedMillis).isBetween(LOCK_TIMEOUT.toMillis(), 2 * LOCK_TIMEOUT.toMillis() - 1);

        // Mercuryo's retry after the lock is gone: stored once, in sequence.
        HttpResponse<String> retried = app.postCallback(TRANSACTION_PATH, pending);
        assertThat(retried.statusCode()).isEqualTo(200);
        assertThat(retried.headers().firstValue("X-Callback-Outcome")).hasValue("accepted");
        assertThat(app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq(stuck))).isEqualTo(2);
        assertThat(app.dsl().select(STATUS_TRANSITION.SEQUENCE, STATUS_TRANSITION.STATUS).from(STATUS_TRANSITION)
                .where(STATUS_TRANSITION.TRANSACTION_ID.eq(stuck)).orderBy(STATUS_TRANSITION.SEQUENCE)
                .fetch(r -> r.value1() + ":" + r.value2())).containsExactly("1:new", "2:pending");
        assertThat(app.dsl().fetchCount(OUTBOX, OUTBOX.MESSAGE_KEY.eq(stuck))).isEqualTo(2);
        assertThat(app.dsl().fetchCount(QUARANTINE)).as("a timeout is not the callback's fault").isZero();
        String metrics = TestApp.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + app.app().adminPort() + "/metrics")).build()).body();
        assertThat(metrics).containsPattern("mercuryo_callbacks_total\\{result=\"timeout\",route=\"transaction\"} 1\\.0");
    }

    @Test
    void a_batch_with_a_locked_transaction_stores_the_others_and_fails_only_that_one() throws Exception {
        IngestService ingest = service(new Timeouts(LOCK_TIMEOUT, Duration.ofSeconds(5)));
        String stuck = "tb-stuck";
        assertThat(app.postCallback(TRANSACTION_PATH, transaction(stuck, "buy", "new", 100)).statusCode()).isEqualTo(200);
        List<IngestQueue.Pending> batch = new ArrayList<>();
        batch.add(pending("tb-free-1", "new"));
        batch.add(pending(stuck, "pending"));
        batch.add(pending("tb-free-2", "new"));

        long started;
        try (Connection holder = lockState(stuck)) {
            started = System.nanoTime();
            ingest.storeBatch(batch);
            holder.rollback();
        }

        assertThat(batch.get(0).result().get()).isEqualTo(Outcome.ACCEPTED);
        assertThat(batch.get(2).result().get()).isEqualTo(Outcome.ACCEPTED);
        Throwable failed = catchThrowable(() -> batch.get(1).result().get());
        assertThat(DatabaseErrors.isTimeout(failed)).as(String.valueOf(failed)).isTrue();
        // The batch waited once, then the stuck item alone once more: bounded, never forever.
        assertThat(millisSince(started)).isLessThan(3 * LOCK_TIMEOUT.toMillis());
        assertThat(app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq(stuck))).isEqualTo(1);
        assertThat(app.dsl().fetchCount(QUARANTINE)).isZero();
    }

    @Test
    void a_lock_timeout_is_not_retried() throws Exception {
        IngestService ingest = service(new Timeouts(LOCK_TIMEOUT, Duration.ofSeconds(5)));
        String stuck = "tr-stuck";
        assertThat(app.postCallback(TRANSACTION_PATH, transaction(stuck, "buy", "new", 100)).statusCode()).isEqualTo(200);
        AtomicInteger attempts = new AtomicInteger();
        try (Connection holder = lockState(stuck)) {
            assertThatThrownBy(() -> ingest.inTransaction(tx -> {
                attempts.incrementAndGet();
                return new IngestService.Written<>(tx.fetch("select 1 from transaction_state where transaction_id = ? for update",
                        stuck), 0);
            })).matches(DatabaseErrors::isTimeout, "a lock timeout").satisfies(e ->
                    assertThat(DatabaseErrors.sqlState(e)).isEqualTo("55P03"));
            holder.rollback();
        }
        assertThat(attempts).hasValue(1);
    }

    @Test
    void a_statement_timeout_ends_the_statement_and_is_not_retried() {
        IngestService ingest = service(new Timeouts(Duration.ofSeconds(10), Duration.ofMillis(300)));
        AtomicInteger attempts = new AtomicInteger();
        long started = System.nanoTime();
        assertThatThrownBy(() -> ingest.inTransaction(tx -> {
            attempts.incrementAndGet();
            return new IngestService.Written<>(tx.fetch("select pg_sleep(5)"), 0);
        })).satisfies(e -> assertThat(DatabaseErrors.sqlState(e)).isEqualTo("57014"));
        assertThat(attempts).hasValue(1);
        assertThat(millisSince(started)).isLessThan(3_000);
    }

    @Test
    void a_statement_past_the_socket_timeout_is_not_retried_as_a_broken_connection() {
        // Before the limits, a statement that outlived the driver's socket timeout was taken for a
        // dead connection and run twice more.
        try (var db = dev.mercuryobridge.db.Database.connect(app.app().config().databaseUrl() + "&socketTimeout=1",
                "postgres", "postgres")) {
            IngestService ingest = new IngestService(db.dsl(), new Messages(app.app().config().topics()),
                    IngestListener.NONE, Clock.systemUTC());
            AtomicInteger attempts = new AtomicInteger();
            assertThatThrownBy(() -> ingest.inTransaction(tx -> {
                attempts.incrementAndGet();
                return new IngestService.Written<>(tx.fetch("select pg_sleep(3)"), 0);
            })).matches(DatabaseErrors::isTimeout, "a socket timeout");
            assertThat(attempts).hasValue(1);
        }
    }

    @Test
    void the_limits_hold_for_the_callback_transaction_only() {
        IngestService ingest = service(new Timeouts(LOCK_TIMEOUT, Duration.ofSeconds(5)));
        String inside = ingest.inTransaction(tx -> new IngestService.Written<>(tx.fetchSingle(
                "select current_setting('lock_timeout') || ' ' || current_setting('statement_timeout')").get(0, String.class), 0));
        assertThat(inside).isEqualTo("1s 5s");
        // SET LOCAL: the pooled connection goes back with the session's own settings.
        assertThat(app.dsl().fetchSingle("select current_setting('lock_timeout')").get(0, String.class)).isEqualTo("0");
    }

    @Test
    void reports_have_their_own_pool_so_an_exhausted_one_leaves_callbacks_answered() throws Exception {
        List<Connection> taken = new ArrayList<>();
        try {
            for (int i = 0; i < REPORTS_POOL; i++) {
                taken.add(app.app().reportsDatabase().dataSource().getConnection());
            }
            try (Statement s = taken.getFirst().createStatement();
                 ResultSet rs = s.executeQuery("select current_setting('statement_timeout'), current_setting('lock_timeout')")) {
                rs.next();
                assertThat(rs.getString(1) + " " + rs.getString(2)).isEqualTo("5min 1s");
            }
            for (int i = 0; i < 5; i++) {
                var answer = app.postCallback(TRANSACTION_PATH, transaction("tp-" + i, "buy", "new", 100));
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            }
        } finally {
            for (Connection c : taken) {
                c.close();
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static IngestService service(Timeouts timeouts) {
        return new IngestService(timeouts.onEachTransaction(app.dsl()), new Messages(app.app().config().topics()),
                IngestListener.NONE, Clock.systemUTC());
    }

    private static IngestQueue.Pending pending(String id, String status) {
        byte[] body = transaction(id, "buy", status, status.equals("new") ? 100 : 200).getBytes(StandardCharsets.UTF_8);
        return new IngestQueue.Pending(new CallbackInserts.Item(Callback.Route.TRANSACTION, body,
                new SignatureVerifier.Match(0, SignatureVerifier.fingerprint(TestApp.SIGN_KEY), SignatureVerifier.Variant.RAW),
                IngestService.parse(Callback.Route.TRANSACTION, body)), new CompletableFuture<>());
    }

    /** Another session holding the transaction's state row, as an operator's open psql would. */
    private static Connection lockState(String transactionId) throws SQLException {
        Connection c = DriverManager.getConnection(app.app().config().databaseUrl(), "postgres", "postgres");
        c.setAutoCommit(false);
        try (var s = c.prepareStatement("select 1 from transaction_state where transaction_id = ? for update")) {
            s.setString(1, transactionId);
            try (ResultSet rs = s.executeQuery()) {
                assertThat(rs.next()).as("the state row exists").isTrue();
            }
        }
        return c;
    }

    /** Until a session of this database waits for a lock (the callback has reached the locked row). */
    private static void awaitLockWaiter() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (app.dsl().fetchSingle("select count(*) from pg_stat_activity where datname = current_database()"
                + " and wait_event_type = 'Lock'").get(0, Long.class) == 0) {
            assertThat(System.nanoTime()).as("a session waits for the lock").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** A transaction id another ingest writer stores (the queue is sharded by the id's hash). */
    private static String otherShard(String id) {
        for (int i = 0; ; i++) {
            String candidate = "tl-other-" + i;
            if (Math.floorMod(candidate.hashCode(), 2) != Math.floorMod(id.hashCode(), 2)) {
                return candidate;
            }
        }
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }
}
