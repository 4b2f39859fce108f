package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.db.generated.Keys;
import dev.mercuryobridge.json.Json;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record2;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

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

    /**
     * Inserts the verbatim callbacks, all {@code accepted} for now, and returns their ids in the
     * order of {@code items}. PostgreSQL evaluates a VALUES list in order and draws the identity
     * from a sequence as it goes, so the ids of one statement ascend in the order of its rows.
     */
    static List<Long> callbacks(DSLContext tx, List<Item> items) {
        var insert = tx.insertInto(CALLBACK, CALLBACK.ROUTE, CALLBACK.BODY, CALLBACK.BODY_SHA256,
                CALLBACK.SIGNATURE_KEY, CALLBACK.SIGNATURE_VARIANT, CALLBACK.OUTCOME, CALLBACK.TRANSACTION_ID,
                CALLBACK.EVENT_ID);
        for (Item i : items) {
            Callback c = i.parsed().callback();
            insert = insert.values(i.route().dbValue(), i.body(), sha256(i.body()), i.match().keyFingerprint(),
                    i.match().variant().dbValue(), "accepted",
                    c instanceof Callback.Transaction t ? t.id() : null,
                    c instanceof Callback.SpendCardEvent e ? e.eventId() : null);
        }
        List<Long> ids = new ArrayList<>(insert.returningResult(CALLBACK.ID).fetch(CALLBACK.ID));
        if (ids.size() != items.size()) {
            throw new IllegalStateException("inserted " + items.size() + " callbacks but got " + ids.size() + " ids");
        }
        Collections.sort(ids);
        return ids;
    }

    /**
     * Inserts the transaction events of the batch's transaction callbacks; returns, by callback
     * id, the event id of each callback whose event is new (a callback absent from the map is a
     * duplicate: the same id, status and Mercuryo time was recorded before, or earlier in the batch).
     */
    static Map<Long, Long> transactionEvents(DSLContext tx, List<Item> items, List<Long> callbackIds) {
        var insert = tx.insertInto(TRANSACTION_EVENT, TRANSACTION_EVENT.TRANSACTION_ID, TRANSACTION_EVENT.STATUS,
                TRANSACTION_EVENT.UPDATED_AT_TS, TRANSACTION_EVENT.CALLBACK_ID, TRANSACTION_EVENT.DETECTED_BY,
                TRANSACTION_EVENT.DATA);
        boolean any = false;
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).parsed().callback() instanceof Callback.Transaction t) {
                insert = insert.values(t.id(), t.status(), t.updatedAtTs(), callbackIds.get(i),
                        DetectedBy.CALLBACK.dbValue(), jsonb(t.data()));
                any = true;
            }
        }
        Map<Long, Long> eventByCallback = new HashMap<>();
        if (!any) {
            return eventByCallback;
        }
        for (Record2<Long, Long> r : insert.onConflictOnConstraint(Keys.TRANSACTION_EVENT_DEDUPE).doNothing()
                .returningResult(TRANSACTION_EVENT.CALLBACK_ID, TRANSACTION_EVENT.ID).fetch()) {
            eventByCallback.put(r.value1(), r.value2());
        }
        return eventByCallback;
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
