package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.db.generated.Keys;
import dev.mercuryobridge.json.Json;
import org.jooq.DSLContext;
import org.jooq.JSONB;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.SPEND_CARD_EVENT;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_EVENT;

/**
 * The rows a batch of verified callbacks adds before anything is decided, each kind with one
 * multi-row statement: the verbatim callbacks, the deduplicated transaction events and the
 * deduplicated Spend Card events. Deduplication is the unique constraints' work
 * ({@code ON CONFLICT DO NOTHING}): of two copies in one statement, or one here and one
 * committed or in flight elsewhere, exactly one row is inserted, and its {@code callback_id}
 * says which copy that was.
 */
final class CallbackInserts {
    private CallbackInserts() {}

    /** A verified callback to store: its route, verbatim body, the key that verified it, and what its body parsed to. */
    record Item(Callback.Route route, byte[] body, SignatureVerifier.Match match, IngestService.Parsed parsed) {}

    /** The ids of a batch's callbacks in the order of its items, and the event id of each callback whose event is new. */
    record Inserted(List<Long> callbackIds, Map<Long, Long> eventByCallback) {}

    /**
     * The verbatim callbacks (all {@code accepted} for now) and the transaction events of the
     * transaction callbacks among them, in one statement and one round trip: {@link #callbacks}
     * and {@link #transactionEvents} in one. The rows are inserted in the order of the items (the
     * {@code order by ord}), so the ids ascend in that order and, of two copies of one event, the
     * first is inserted and the second is the duplicate, as if they had come one by one.
     */
    private static final String CALLBACKS_AND_EVENTS = """
            with input as (
                select * from unnest(?::text[], ?::bytea[], ?::bytea[], ?::text[], ?::text[], ?::text[], ?::uuid[],
                                     ?::text[], ?::bigint[], ?::text[])
                    with ordinality as i(route, body, body_sha256, signature_key, signature_variant, transaction_id,
                                         event_id, status, updated_at_ts, data, ord)
            ), c as (
                insert into callback (route, body, body_sha256, signature_key, signature_variant, outcome, transaction_id,
                                      event_id)
                select route, body, body_sha256, signature_key, signature_variant, 'accepted', transaction_id, event_id
                  from input order by ord
                returning id
            ), n as (
                select id, row_number() over (order by id) as ord from c
            ), e as (
                insert into transaction_event (transaction_id, status, updated_at_ts, callback_id, detected_by, data)
                select i.transaction_id, i.status, i.updated_at_ts, n.id, 'callback', i.data::jsonb
                  from input i join n on n.ord = i.ord
                 where i.data is not null
                 order by i.ord
                on conflict on constraint transaction_event_dedupe do nothing
                returning callback_id, id
            )
            select n.id, e.id from n left join e on e.callback_id = n.id order by n.id""";

    static Inserted callbacksAndEvents(DSLContext tx, List<Item> items) {
        int n = items.size();
        String[] route = new String[n], key = new String[n], variant = new String[n], txId = new String[n],
                status = new String[n], data = new String[n];
        byte[][] body = new byte[n][], sha = new byte[n][];
        UUID[] eventId = new UUID[n];
        Long[] updatedAtTs = new Long[n];
        for (int i = 0; i < n; i++) {
            Item item = items.get(i);
            route[i] = item.route().dbValue();
            body[i] = item.body();
            sha[i] = sha256(item.body());
            key[i] = item.match().keyFingerprint();
            variant[i] = item.match().variant().dbValue();
            switch (item.parsed().callback()) {
                case Callback.Transaction t -> {
                    txId[i] = t.id();
                    status[i] = t.status();
                    updatedAtTs[i] = t.updatedAtTs();
                    data[i] = jsonb(t.data()).data();
                }
                case Callback.SpendCardEvent e -> eventId[i] = e.eventId();
                case null -> { }
            }
        }
        return BatchSql.run(tx, CALLBACKS_AND_EVENTS, (c, ps) -> {
            Object[][] columns = {route, body, sha, key, variant, txId, eventId, status, updatedAtTs, data};
            String[] types = {"text", "bytea", "bytea", "text", "text", "text", "uuid", "text", "int8", "text"};
            for (int i = 0; i < columns.length; i++) {
                ps.setArray(i + 1, c.createArrayOf(types[i], columns[i]));
            }
            List<Long> ids = new ArrayList<>(n);
            Map<Long, Long> events = new HashMap<>();
            for (long[] row : BatchSql.rows(ps.executeQuery(), rs -> {
                long id = rs.getLong(1);
                long e = rs.getLong(2);
                return new long[] {id, rs.wasNull() ? -1 : e};
            })) {
                ids.add(row[0]);
                if (row[1] != -1) {
                    events.put(row[0], row[1]);
                }
            }
            if (ids.size() != n) {
                throw new IllegalStateException("inserted " + n + " callbacks but got " + ids.size() + " ids");
            }
            return new Inserted(ids, events);
        });
    }

    /** One transaction event (an API read, a quarantine replay); null when it is a duplicate. */
    static Long transactionEvent(DSLContext tx, Callback.Transaction t, Long callbackId, DetectedBy by) {
        return tx.insertInto(TRANSACTION_EVENT)
                .set(TRANSACTION_EVENT.TRANSACTION_ID, t.id())
                .set(TRANSACTION_EVENT.STATUS, t.status())
                .set(TRANSACTION_EVENT.UPDATED_AT_TS, t.updatedAtTs())
                .set(TRANSACTION_EVENT.CALLBACK_ID, callbackId)
                .set(TRANSACTION_EVENT.DETECTED_BY, by.dbValue())
                .set(TRANSACTION_EVENT.DATA, jsonb(t.data()))
                .onConflictOnConstraint(Keys.TRANSACTION_EVENT_DEDUPE).doNothing()
                .returning(TRANSACTION_EVENT.ID)
                .fetchOptional(TRANSACTION_EVENT.ID)
                .orElse(null);
    }

    /**
     * Inserts Spend Card events (given with the id of the callback that carried each); returns
     * the callback ids whose event is new. {@code events} and {@code callbackIds} run in parallel.
     */
    static Set<Long> spendCardEvents(DSLContext tx, List<Callback.SpendCardEvent> events, List<Long> callbackIds,
                                     Instant recordedAt) {
        Set<Long> inserted = new HashSet<>();
        if (events.isEmpty()) {
            return inserted;
        }
        var insert = tx.insertInto(SPEND_CARD_EVENT, SPEND_CARD_EVENT.EVENT_ID, SPEND_CARD_EVENT.EVENT_NAME,
                SPEND_CARD_EVENT.CARD_ID, SPEND_CARD_EVENT.USER_UUID, SPEND_CARD_EVENT.CALLBACK_ID,
                SPEND_CARD_EVENT.DATA, SPEND_CARD_EVENT.RECORDED_AT);
        for (int i = 0; i < events.size(); i++) {
            Callback.SpendCardEvent e = events.get(i);
            insert = insert.values(e.eventId(), e.eventName(), e.cardId(), e.userUuid(), callbackIds.get(i),
                    jsonb(e.body()), recordedAt);
        }
        inserted.addAll(insert.onConflictDoNothing().returningResult(SPEND_CARD_EVENT.CALLBACK_ID)
                .fetch(SPEND_CARD_EVENT.CALLBACK_ID));
        return inserted;
    }

    static JSONB jsonb(ObjectNode node) {
        try {
            return JSONB.valueOf(Json.MAPPER.writeValueAsString(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON tree could not be written back", e);
        }
    }

    static byte[] sha256(byte[] body) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(body);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
