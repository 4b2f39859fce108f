package dev.mercuryobridge.outbox;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;
import static dev.mercuryobridge.db.generated.Tables.OUTBOX_PENDING;

/**
 * Writes outbox rows inside the caller's transaction; the relay publishes them after commit.
 *
 * <p>The relay's order per key rests on two facts about these rows: their ids come from a
 * sequence without a cache (ids follow time), and the transaction that writes one has already
 * written something else (so it has a transaction id, which the relay watches, before it takes
 * the row's id). Every caller writes the change the row announces first.
 */
public final class Outbox {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Outbox.class);

    /** Appends made by each thread, so that a transaction's owner knows to signal after its commit. */
    private static final ThreadLocal<long[]> APPENDS = ThreadLocal.withInitial(() -> new long[1]);

    private Outbox() {}

    /**
     * How many appends this thread has made so far: a caller that compares it before and after a
     * transaction knows whether to signal ({@link OutboxSignal}) once it committed.
     */
    public static long appendsOnThisThread() {
        return APPENDS.get()[0];
    }

    /**
     * Deletes published rows created longer ago than the retention: they are on Kafka, and the
     * transitions, events and findings they announced stay in their own tables. Unpublished rows
     * (ids in {@code outbox_pending}) are never deleted, however old.
     *
     * <p>Rows keep no publish time (marking deletes the id from {@code outbox_pending} and writes
     * nothing on the row), so a row published late, after a long outage, may go as soon as it is
     * published. Ids follow creation time, so the candidates are the rows below the first one
     * created after the cutoff, found by walking the primary key from its start over the old rows
     * only.
     */
    public static void purgePublished(DSLContext dsl, java.time.Duration retention, java.time.Clock clock) {
        java.time.Instant cutoff = clock.instant().minus(retention);
        try {
            var firstKept = dsl.select(OUTBOX.ID).from(OUTBOX).where(OUTBOX.CREATED_AT.ge(cutoff)).orderBy(OUTBOX.ID).limit(1);
            int deleted = dsl.deleteFrom(OUTBOX)
                    .where(OUTBOX.ID.lt(DSL.coalesce(DSL.field(firstKept), DSL.inline(Long.MAX_VALUE))))
                    .andNotExists(dsl.selectOne().from(OUTBOX_PENDING).where(OUTBOX_PENDING.ID.eq(OUTBOX.ID)))
                    .execute();
            if (deleted > 0) {
                log.info("outbox: removed {} row(s) published more than {} ago", deleted, retention);
            }
        } catch (RuntimeException e) {
            // The next run tries again; keeping rows longer is harmless.
            log.warn("outbox: could not remove old published rows: {}", e.getMessage());
        }
    }

    /**
     * Appends messages in order (ids follow the list), in multi-row statements; a message whose
     * event id is already in the outbox is not added twice.
     */
    public static void appendAll(DSLContext tx, java.util.List<OutboxMessage> messages) {
        if (!messages.isEmpty()) {
            APPENDS.get()[0]++;
        }
        for (int from = 0; from < messages.size(); from += 1_000) {
            var insert = tx.insertInto(OUTBOX, OUTBOX.TOPIC, OUTBOX.MESSAGE_KEY, OUTBOX.EVENT_ID, OUTBOX.EVENT_TYPE, OUTBOX.PAYLOAD);
            for (OutboxMessage m : messages.subList(from, Math.min(messages.size(), from + 1_000))) {
                insert = insert.values(m.topic(), m.key(), m.eventId(), m.eventType(), m.payload());
            }
            insert.onConflictDoNothing().execute();
        }
    }

    /** Appends a message; a message with the same event id already in the outbox is not added twice. */
    public static void append(DSLContext tx, OutboxMessage message) {
        APPENDS.get()[0]++;
        tx.insertInto(OUTBOX)
                .set(OUTBOX.TOPIC, message.topic())
                .set(OUTBOX.MESSAGE_KEY, message.key())
                .set(OUTBOX.EVENT_ID, message.eventId())
                .set(OUTBOX.EVENT_TYPE, message.eventType())
                .set(OUTBOX.PAYLOAD, message.payload())
                .onConflictDoNothing()
                .execute();
    }
}
