package dev.mercuryobridge.ingest;

import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Group commit: many callbacks in one transaction, each answered after that commit with its own
 * outcome. To put callbacks deterministically into one batch, each test holds the state row of a
 * first transaction so that the single writer blocks on it, waits until the next callbacks are
 * queued (the queue's own gauge), then lets it go.
 */
class GroupCommitTest {

    private static Map<String, String> oneWriter(String capacity) {
        return Map.of("INGEST_WRITERS", "1", "INGEST_QUEUE_CAPACITY", capacity, "INGEST_BATCH_SIZE", "100",
                "INGEST_BATCH_LINGER", "PT0S");
    }

    @Test
    void a_poisoned_callback_is_quarantined_alone_and_the_rest_of_its_batch_commits() throws Exception {
        try (TestApp app = TestApp.start(oneWriter("100"))) {
            String url = app.app().config().databaseUrl();
            // A row the database refuses for one transaction only: the batch fails as a whole.
            try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement()) {
                s.execute("""
                        create function refuse_poison() returns trigger language plpgsql as $$
                        begin raise exception 'poisoned row for %', new.transaction_id; end $$;
                        create trigger refuse_poison before insert on transaction_event
                            for each row when (new.transaction_id = 'poison') execute function refuse_poison();
                        """);
            }
            try (Blocker blocker = Blocker.hold(app, "gc-first")) {
                CompletableFuture<HttpResponse<String>> first = post(app, transaction("gc-first", "buy", "pending", 200));
                blocker.awaitWriterBlocked();
                List<CompletableFuture<HttpResponse<String>>> batch = new ArrayList<>();
                for (int i = 0; i < 9; i++) {
                    batch.add(post(app, transaction("gc-good-" + i, "buy", "new", 100)));
                }
                batch.add(post(app, transaction("poison", "buy", "new", 100)));
                awaitQueued(app, 10);
                blocker.release();

                assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                for (int i = 0; i < 9; i++) {
                    HttpResponse<String> r = batch.get(i).get(10, TimeUnit.SECONDS);
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.headers().firstValue("X-Callback-Outcome")).hasValue("accepted");
                }
                HttpResponse<String> poisoned = batch.get(9).get(10, TimeUnit.SECONDS);
                assertThat(poisoned.statusCode()).isEqualTo(200);
                assertThat(poisoned.headers().firstValue("X-Callback-Outcome")).hasValue("quarantined");
            }
            assertThat(app.dsl().fetchCount(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.like("gc-good-%"))).isEqualTo(9);
            assertThat(app.dsl().fetchCount(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID.like("gc-good-%"))).isEqualTo(9);
            assertThat(app.dsl().fetchCount(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq("poison"))).isZero();
            var q = app.dsl().select(QUARANTINE.REASON, CALLBACK.OUTCOME).from(QUARANTINE)
                    .join(CALLBACK).on(CALLBACK.ID.eq(QUARANTINE.CALLBACK_ID)).fetchSingle();
            assertThat(q.value1()).contains("could not be stored").contains("poisoned row for poison");
            assertThat(q.value2()).isEqualTo("quarantined");
        }
    }

    @Test
    void a_full_queue_answers_503_with_retry_after_and_the_queued_callbacks_still_commit() throws Exception {
        try (TestApp app = TestApp.start(oneWriter("2"))) {
            try (Blocker blocker = Blocker.hold(app, "qf-first")) {
                CompletableFuture<HttpResponse<String>> first = post(app, transaction("qf-first", "buy", "pending", 200));
                blocker.awaitWriterBlocked();
                CompletableFuture<HttpResponse<String>> second = post(app, transaction("qf-2", "buy", "new", 100));
                CompletableFuture<HttpResponse<String>> third = post(app, transaction("qf-3", "buy", "new", 100));
                awaitQueued(app, 2);

                HttpResponse<String> refused = app.postCallback(TRANSACTION_PATH, transaction("qf-4", "buy", "new", 100));
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
                assertThat(refused.body()).contains("\"error\":\"busy\"");

                blocker.release();
                assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                assertThat(second.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                assertThat(third.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            }
            assertThat(app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq("qf-4"))).isZero();
            assertThat(app.dsl().fetchCount(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.in("qf-2", "qf-3"))).isEqualTo(2);
            // Mercuryo's retry is stored once there is room again.
            assertThat(app.postCallback(TRANSACTION_PATH, transaction("qf-4", "buy", "new", 100)).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void shutdown_stores_every_queued_callback_before_the_pool_closes() throws Exception {
        TestApp app = TestApp.start(oneWriter("100"));
        String url = app.app().config().databaseUrl();
        List<CompletableFuture<HttpResponse<String>>> queued = new ArrayList<>();
        CompletableFuture<Void> closing;
        try (Blocker blocker = Blocker.hold(app, "sd-first")) {
            queued.add(post(app, transaction("sd-first", "buy", "pending", 200)));
            blocker.awaitWriterBlocked();
            for (int i = 0; i < 5; i++) {
                queued.add(post(app, transaction("sd-" + i, "buy", "new", 100)));
            }
            awaitQueued(app, 5);
            closing = CompletableFuture.runAsync(app::close);
            blocker.release();
        }
        for (CompletableFuture<HttpResponse<String>> r : queued) {
            assertThat(r.get(15, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        closing.get(20, TimeUnit.SECONDS);
        try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement s = c.createStatement();
             var rs = s.executeQuery("select count(*) from transaction_state where transaction_id like 'sd-%'")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(6);
        }
    }

    @Test
    void a_state_created_by_another_writer_after_the_lock_is_decided_against_not_overwritten() throws Exception {
        try (TestApp app = TestApp.start(oneWriter("100"));
             Connection other = DriverManager.getConnection(app.app().config().databaseUrl(), "postgres", "postgres")) {
            // Another writer (a second instance, a reconciler read) creates the state and has not
            // committed: our batch finds no row to lock, and its write of a new row must wait.
            other.setAutoCommit(false);
            try (Statement s = other.createStatement()) {
                s.execute("insert into transaction_state (transaction_id, transaction_type, status, status_rank, final,"
                        + " updated_at_ts, last_sequence, last_detected_by) values ('cc-1', 'buy', 'pending', "
                        + TransactionStatuses.rank("buy", "pending") + ", false, 200, 1, 'callback')");
            }
            CompletableFuture<HttpResponse<String>> succeeded = post(app, transaction("cc-1", "buy", "succeeded", 300));
            awaitLockWait(other);
            other.commit();

            HttpResponse<String> r = succeeded.get(10, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("X-Callback-Outcome")).hasValue("accepted");
            var state = app.dsl().selectFrom(TRANSACTION_STATE).where(TRANSACTION_STATE.TRANSACTION_ID.eq("cc-1")).fetchSingle();
            assertThat(state.getStatus()).isEqualTo("succeeded");
            assertThat(state.getLastSequence()).isEqualTo(2);
            var transition = app.dsl().selectFrom(STATUS_TRANSITION).where(STATUS_TRANSITION.TRANSACTION_ID.eq("cc-1"))
                    .fetchSingle();
            assertThat(transition.getSequence()).isEqualTo(2);
            assertThat(transition.getPreviousStatus()).isEqualTo("pending");
        }
    }

    /** Waits until some session waits on a lock (here: our writer, on the other writer's new row). */
    private static void awaitLockWait(Connection c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Statement s = c.createStatement();
                 var rs = s.executeQuery("select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                         + " and datname = current_database()")) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the writer never waited on the other writer's row");
    }

    private static CompletableFuture<HttpResponse<String>> post(TestApp app, String body) {
        return CompletableFuture.supplyAsync(() -> app.postCallback(TRANSACTION_PATH, body));
    }

    /** Waits until the queue itself holds {@code n} callbacks (they are past verification, waiting for a writer). */
    private static void awaitQueued(TestApp app, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (app.app().registry().get("ingest.queue.depth").gauge().value() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never saw " + n + " queued callbacks");
            }
            Thread.sleep(10);
        }
    }

    /**
     * Creates a transaction and holds its state row, so that the writer storing the next report
     * of it blocks inside its batch transaction.
     */
    private static final class Blocker implements AutoCloseable {
        private final Connection connection;

        private Blocker(Connection connection) {
            this.connection = connection;
        }

        static Blocker hold(TestApp app, String transactionId) throws Exception {
            assertThat(app.postCallback(TRANSACTION_PATH, transaction(transactionId, "buy", "new", 100)).statusCode())
                    .isEqualTo(200);
            Connection c = DriverManager.getConnection(app.app().config().databaseUrl(), "postgres", "postgres");
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("select * from transaction_state where transaction_id = '" + transactionId + "' for update");
            }
            return new Blocker(c);
        }

        void awaitWriterBlocked() throws Exception {
            awaitLockWait(connection);
        }

        void release() throws Exception {
            connection.rollback();
        }

        @Override
        public void close() throws Exception {
            connection.close();
        }
    }
}
