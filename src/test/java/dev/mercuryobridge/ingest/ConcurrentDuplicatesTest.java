package dev.mercuryobridge.ingest;

import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_EVENT;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/** Idempotency under real concurrency: the database's unique constraints decide, not a read. */
class ConcurrentDuplicatesTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass(java.util.Map.of("DATABASE_POOL_SIZE", "50"));

    private static List<Integer> postConcurrently(List<String> bodies) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(bodies.size());
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> answers = new ArrayList<>();
            for (String body : bodies) {
                answers.add(pool.submit(() -> {
                    go.await();
                    return app.postCallback(TRANSACTION_PATH, body).statusCode();
                }));
            }
            go.countDown();
            List<Integer> codes = new ArrayList<>();
            for (Future<Integer> f : answers) {
                codes.add(f.get());
            }
            return codes;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void fifty_concurrent_copies_give_one_event_and_one_transition() throws Exception {
        String body = transaction("concurrent1", "buy", "pending", 1_000);

        List<Integer> codes = postConcurrently(java.util.Collections.nCopies(50, body));

        assertThat(codes).containsOnly(200).hasSize(50);
        assertThat(app.dsl().fetchCount(TRANSACTION_EVENT, TRANSACTION_EVENT.TRANSACTION_ID.eq("concurrent1"))).isEqualTo(1);
        assertThat(app.dsl().fetchCount(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID.eq("concurrent1"))).isEqualTo(1);
        assertThat(app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq("concurrent1"))).isEqualTo(50);
        assertThat(app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq("concurrent1").and(CALLBACK.OUTCOME.eq("accepted"))))
                .isEqualTo(1);
    }

    @Test
    void concurrent_different_statuses_of_a_new_transaction_give_gapless_sequences() throws Exception {
        List<String> bodies = new ArrayList<>();
        String[] statuses = {"new", "pending", "order_scheduled", "paid"};
        for (int copy = 0; copy < 5; copy++) {
            for (int i = 0; i < statuses.length; i++) {
                bodies.add(transaction("concurrent2", "buy", statuses[i], 2_000 + i));
            }
        }

        assertThat(postConcurrently(bodies)).containsOnly(200);

        var state = app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq("concurrent2"));
        assertThat(state.getStatus()).isEqualTo("paid");
        assertThat(app.dsl().fetchCount(TRANSACTION_EVENT, TRANSACTION_EVENT.TRANSACTION_ID.eq("concurrent2"))).isEqualTo(4);
        List<Integer> sequences = app.dsl().select(STATUS_TRANSITION.SEQUENCE).from(STATUS_TRANSITION)
                .where(STATUS_TRANSITION.TRANSACTION_ID.eq("concurrent2")).orderBy(STATUS_TRANSITION.SEQUENCE)
                .fetch(STATUS_TRANSITION.SEQUENCE);
        // Arrival order decides how many steps were seen, but numbering is always 1..n without gaps,
        // and the last transition is the final status.
        assertThat(sequences).isNotEmpty();
        for (int i = 0; i < sequences.size(); i++) {
            assertThat(sequences.get(i)).isEqualTo(i + 1);
        }
        assertThat(state.getLastSequence()).isEqualTo(sequences.size());
        String lastStatus = app.dsl().select(STATUS_TRANSITION.STATUS).from(STATUS_TRANSITION)
                .where(STATUS_TRANSITION.TRANSACTION_ID.eq("concurrent2"))
                .orderBy(STATUS_TRANSITION.SEQUENCE.desc()).limit(1).fetchSingle(STATUS_TRANSITION.STATUS);
        assertThat(lastStatus).isEqualTo("paid");
    }
}
