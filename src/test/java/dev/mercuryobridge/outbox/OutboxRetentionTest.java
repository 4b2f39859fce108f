package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.db.generated.Tables.OUTBOX_PENDING;
import static org.assertj.core.api.Assertions.assertThat;

class OutboxRetentionTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    @Test
    void only_published_rows_created_before_the_retention_are_removed() {
        var dsl = app.dsl();
        Instant now = Instant.now();
        long oldUnpublished = insert(dsl, "old-unpublished", now.minus(Duration.ofDays(9)), false);
        long old = insert(dsl, "old", now.minus(Duration.ofDays(8)), true);
        long recent = insert(dsl, "recent", now.minus(Duration.ofDays(1)), true);
        long unpublished = insert(dsl, "unpublished", now, false);
        // "retention.test" is no topic of the service's (and topics are not auto-created), so the
        // relay cannot publish the unpublished rows: they stay unpublished however old they get.
        Outbox.purgePublished(dsl, Duration.ofDays(7), java.time.Clock.systemUTC());

        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(old))).isFalse();
        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(recent))).isTrue();
        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(unpublished))).isTrue();
        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(oldUnpublished))).isTrue();
        assertThat(dsl.fetchExists(OUTBOX_PENDING, OUTBOX_PENDING.ID.eq(oldUnpublished))).as("still to be published").isTrue();
    }

    @Test
    void outbox_pending_follows_the_rows_appended_and_deleted() {
        var dsl = app.dsl();
        Instant now = Instant.now();
        long row = insert(dsl, "pending-follows", now, false);
        // Appending the same event again adds no row, and no second pending id.
        int pendingBefore = dsl.fetchCount(OUTBOX_PENDING);
        dsl.transaction(c -> Outbox.appendAll(c.dsl(), java.util.List.of(new OutboxMessage("retention.test", "pending-follows",
                "retention/pending-follows", "test", new byte[] {'{', '}'}))));
        assertThat(dsl.fetchCount(OUTBOX, OUTBOX.EVENT_ID.eq("retention/pending-follows"))).isOne();
        assertThat(dsl.fetchCount(OUTBOX_PENDING)).isEqualTo(pendingBefore);
        // An unpublished row deleted by hand takes its pending id with it: no id left that the relay would never find.
        dsl.deleteFrom(OUTBOX).where(OUTBOX.ID.eq(row)).execute();
        assertThat(dsl.fetchExists(OUTBOX_PENDING, OUTBOX_PENDING.ID.eq(row))).isFalse();
        assertThat(dsl.fetchCount(OUTBOX_PENDING)).isEqualTo(pendingBefore - 1);
    }

    /** A row created at {@code createdAt}; published (its id out of outbox_pending, as the relay's mark does) or not. */
    private static long insert(org.jooq.DSLContext dsl, String id, Instant createdAt, boolean published) {
        long rowId = dsl.insertInto(OUTBOX)
                .set(OUTBOX.TOPIC, "retention.test").set(OUTBOX.MESSAGE_KEY, id).set(OUTBOX.EVENT_ID, "retention/" + id)
                .set(OUTBOX.EVENT_TYPE, "test").set(OUTBOX.PAYLOAD, new byte[] {'{', '}'})
                .set(OUTBOX.CREATED_AT, createdAt)
                .returning(OUTBOX.ID).fetchSingle(OUTBOX.ID);
        assertThat(dsl.fetchExists(OUTBOX_PENDING, OUTBOX_PENDING.ID.eq(rowId))).as("a new row is pending").isTrue();
        if (published) {
            assertThat(dsl.deleteFrom(OUTBOX_PENDING).where(OUTBOX_PENDING.ID.eq(rowId)).execute()).isOne();
        }
        return rowId;
    }
}
