package dev.mercuryobridge.ingest;

import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * A state row another writer creates and commits between a batch's lock (which found none) and
 * its write: the batch must not overwrite it, and must fail with the retryable
 * {@link WriteUnit.ConcurrentStateCreation} (the whole transaction runs again and then finds the
 * row), not with the unique violation of the transition number both wrote.
 */
class ConcurrentStateCreationTest {

    @Test
    void a_state_created_between_lock_and_write_makes_the_transaction_run_again() {
        try (TestApp app = TestApp.start()) {
            Messages messages = new Messages(app.app().config().topics());
            TransactionUpdates updates = new TransactionUpdates(messages, new Findings(messages), Clock.systemUTC());
            Callback.Transaction paid = (Callback.Transaction) IngestService.parse(Callback.Route.TRANSACTION,
                    transaction("race-1", "buy", "paid", 200).getBytes(StandardCharsets.UTF_8)).callback();

            Throwable failure = catchThrowable(() -> app.dsl().transaction(c -> {
                WriteUnit u = new WriteUnit(c.dsl());
                u.lockAll(List.of("race-1"));
                // Another writer: the service itself stores the transaction's first report and commits.
                assertThat(app.postCallback(TRANSACTION_PATH, transaction("race-1", "buy", "pending", 100)).statusCode())
                        .isEqualTo(200);
                Long event = CallbackInserts.transactionEvent(c.dsl(), paid, null, DetectedBy.CALLBACK);
                assertThat(updates.decide(u, paid, DetectedBy.CALLBACK, () -> event)).isEqualTo(Outcome.ACCEPTED);
                u.flush();
            }));

            assertThat(Stream.iterate(failure, Objects::nonNull, Throwable::getCause))
                    .anyMatch(e -> e instanceof WriteUnit.ConcurrentStateCreation);
            // The other writer's state and transition stand; nothing of the failed transaction remains.
            assertThat(app.dsl().select(STATUS_TRANSITION.SEQUENCE, STATUS_TRANSITION.STATUS).from(STATUS_TRANSITION)
                    .where(STATUS_TRANSITION.TRANSACTION_ID.eq("race-1")).fetch().map(r -> r.value1() + ":" + r.value2()))
                    .containsExactly("1:pending");
        }
    }
}
