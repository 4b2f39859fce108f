package dev.mercuryobridge.ingest;

import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The write path tells the relays (V8 took the NOTIFY off its transactions) once per commit that
 * appended outbox rows, after the commit: what it signals is visible to another session. A
 * commit that appended nothing (duplicates) does not signal. The write path says itself what it
 * appended, the announcement of a finding included.
 */
class OutboxSignalAfterCommitTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    @Test
    void a_batch_that_appends_outbox_rows_signals_once_after_its_commit_and_duplicates_do_not() throws Exception {
        List<Integer> visibleAtSignal = new ArrayList<>();
        IngestService ingest = new IngestService(app.dsl(), new Messages(app.app().config().topics()), IngestListener.NONE,
                () -> visibleAtSignal.add(app.dsl().fetchCount(OUTBOX, OUTBOX.MESSAGE_KEY.in("sig-1", "sig-2"))),
                Clock.systemUTC());

        List<IngestQueue.Pending> batch = List.of(pending("sig-1"), pending("sig-2"));
        ingest.storeBatch(batch);
        assertThat(batch.get(0).result().get()).isEqualTo(Outcome.ACCEPTED);
        assertThat(visibleAtSignal).as("one signal, with both rows committed").containsExactly(2);

        List<IngestQueue.Pending> again = List.of(pending("sig-1"), pending("sig-2"));
        ingest.storeBatch(again);
        assertThat(again.get(0).result().get()).isEqualTo(Outcome.DUPLICATE);
        assertThat(visibleAtSignal).as("nothing appended, no signal").containsExactly(2);
    }

    @Test
    void a_batch_whose_only_outbox_row_is_a_findings_announcement_signals_once_after_its_commit() throws Exception {
        List<Long> findingsAtSignal = new ArrayList<>();
        IngestService ingest = new IngestService(app.dsl(), new Messages(app.app().config().topics()), IngestListener.NONE,
                () -> findingsAtSignal.add((long) app.dsl().fetchCount(OUTBOX, OUTBOX.MESSAGE_KEY.eq("sig-conflict")
                        .and(OUTBOX.EVENT_TYPE.eq("mercuryo.reconciliation.finding")))),
                Clock.systemUTC());
        ingest.storeBatch(List.of(pending("sig-conflict", "paid", 100)));
        assertThat(findingsAtSignal).as("the transition's commit").containsExactly(0L);

        // Another final status after "paid": no transition, a finding, announced on the outbox.
        List<IngestQueue.Pending> conflict = List.of(pending("sig-conflict", "cancelled", 200));
        ingest.storeBatch(conflict);
        assertThat(conflict.getFirst().result().get()).isEqualTo(Outcome.CONFLICT);
        assertThat(findingsAtSignal).as("one signal, with the announcement committed").containsExactly(0L, 1L);

        // The same conflict in a later report: the finding is open already, nothing announced, no signal.
        List<IngestQueue.Pending> again = List.of(pending("sig-conflict", "cancelled", 300));
        ingest.storeBatch(again);
        assertThat(again.getFirst().result().get()).isEqualTo(Outcome.CONFLICT);
        assertThat(findingsAtSignal).hasSize(2);
    }

    private static IngestQueue.Pending pending(String id) {
        return pending(id, "new", 100);
    }

    private static IngestQueue.Pending pending(String id, String status, long updatedAtTs) {
        byte[] body = transaction(id, "buy", status, updatedAtTs).getBytes(StandardCharsets.UTF_8);
        return new IngestQueue.Pending(new CallbackInserts.Item(Callback.Route.TRANSACTION, body,
                new SignatureVerifier.Match(0, SignatureVerifier.fingerprint(TestApp.SIGN_KEY), SignatureVerifier.Variant.RAW),
                IngestService.parse(Callback.Route.TRANSACTION, body)), new CompletableFuture<>());
    }
}
