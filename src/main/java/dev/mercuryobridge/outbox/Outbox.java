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

    /**
     * Every append, whatever the number of messages: fixed SQL over arrays, run with plain JDBC,
     * so PostgreSQL plans it once per connection and nothing renders SQL per batch (jOOQ's
     * rendering of the multi-row insert was a tenth of the ingest writers' CPU). The rows are
     * inserted in the order of the list ({@code order by ord}), so their ids follow it.
     */
    private static final String APPEND = """
            insert into outbox (topic, message_key, event_id, event_type, payload)
            select topic, message_key, event_id, event_type, payload
              from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bytea[])
                   with ordinality as m(topic, message_key, event_id, event_type, payload, ord)
             order by ord
            on conflict (event_id) do nothing""";

    private Outbox() {}

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
                log.info("outbox: removed {} published row(s) written more than {} ago", deleted, retention);
            }
        } catch (RuntimeException e) {
            // The next run tries again; keeping rows longer is harmless.
            log.warn("outbox: could not remove old published rows: {}", e.getMessage());
        }
    }

    /**
     * Appends messages in order (ids follow the list), in one statement; a message whose event id
     * is already in the outbox (or earlier in the list) is not added twice. Returns how many rows
     * it added: a caller whose transaction added any signals the relays ({@link OutboxSignal})
     * once it has committed.
     */
    public static int appendAll(DSLContext tx, java.util.List<OutboxMessage> messages) {
        if (messages.isEmpty()) {
            return 0;
        }
        return tx.connectionResult(c -> {
            try (java.sql.PreparedStatement ps = c.prepareStatement(APPEND)) {
                bindAppend(c, ps, 1, messages);
                return ps.executeUpdate();
            }
        });
    }

    /**
     * The statement of {@link #appendAll}, for a writer that sends it in one round trip with
     * statements of its own (separated by {@code ;}); its update count is the rows it added.
     */
    public static String appendSql() {
        return APPEND;
    }

    /** Binds the messages to {@link #appendSql()}'s parameters, from {@code first}; returns the next parameter. */
    public static int bindAppend(java.sql.Connection c, java.sql.PreparedStatement ps, int first,
                                 java.util.List<OutboxMessage> messages) throws java.sql.SQLException {
        int n = messages.size();
        String[] topic = new String[n], key = new String[n], eventId = new String[n], eventType = new String[n];
        byte[][] payload = new byte[n][];
        for (int i = 0; i < n; i++) {
            OutboxMessage m = messages.get(i);
            topic[i] = m.topic();
            key[i] = m.key();
            eventId[i] = m.eventId();
            eventType[i] = m.eventType();
            payload[i] = m.payload();
        }
        ps.setArray(first, c.createArrayOf("text", topic));
        ps.setArray(first + 1, c.createArrayOf("text", key));
        ps.setArray(first + 2, c.createArrayOf("text", eventId));
        ps.setArray(first + 3, c.createArrayOf("text", eventType));
        ps.setArray(first + 4, c.createArrayOf("bytea", payload));
        return first + 5;
    }

    /** Appends a message unless one with its event id is in the outbox already; returns the rows added (1 or 0). */
    public static int append(DSLContext tx, OutboxMessage message) {
        return appendAll(tx, java.util.List.of(message));
    }
}
