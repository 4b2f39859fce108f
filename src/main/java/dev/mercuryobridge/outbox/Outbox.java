package dev.mercuryobridge.outbox;

import org.jooq.DSLContext;

import static dev.mercuryobridge.db.generated.Tables.OUTBOX;

/** Writes outbox rows inside the caller's transaction; the relay publishes them after commit. */
public final class Outbox {

    private Outbox() {}

    /** Appends a message; a message with the same event id already in the outbox is not added twice. */
    public static void append(DSLContext tx, OutboxMessage message) {
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
