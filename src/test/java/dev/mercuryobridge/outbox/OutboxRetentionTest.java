package dev.mercuryobridge.outbox;

import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static org.assertj.core.api.Assertions.assertThat;

class OutboxRetentionTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    @Test
    void only_rows_published_before_the_retention_are_removed() {
        var dsl = app.dsl();
        Instant now = Instant.now();
        long oldUnpublished = insert(dsl, "old-unpublished", now.minus(Duration.ofDays(9)), null);
        long old = insert(dsl, "old", now.minus(Duration.ofDays(8)), now.minus(Duration.ofDays(8)));
        long recent = insert(dsl, "recent", now.minus(Duration.ofDays(1)), now.minus(Duration.ofDays(1)));
        long unpublished = insert(dsl, "unpublished", now, null);
        // "retention.test" is no topic of the service's (and topics are not auto-created), so the
        // relay cannot publish the unpublished rows: they stay unpublished however old they get.
        Outbox.purgePublished(dsl, Duration.ofDays(7), java.time.Clock.systemUTC());

        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(old))).isFalse();
        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(recent))).isTrue();
        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(unpublished))).isTrue();
        assertThat(dsl.fetchExists(OUTBOX, OUTBOX.ID.eq(oldUnpublished))).isTrue();
    }

    private static long insert(org.jooq.DSLContext dsl, String id, Instant createdAt, Instant publishedAt) {
        return dsl.insertInto(OUTBOX)
                .set(OUTBOX.TOPIC, "retention.test").set(OUTBOX.MESSAGE_KEY, id).set(OUTBOX.EVENT_ID, "retention/" + id)
                .set(OUTBOX.EVENT_TYPE, "test").set(OUTBOX.PAYLOAD, new byte[] {'{', '}'})
                .set(OUTBOX.CREATED_AT, createdAt)
                .set(OUTBOX.PUBLISHED_AT, publishedAt)
                .returning(OUTBOX.ID).fetchSingle(OUTBOX.ID);
    }
}
