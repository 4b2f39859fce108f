package dev.mercuryobridge.reconcile;

import dev.mercuryobridge.mercuryo.CardUser;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run checks, read from the database at its start.
 *
 * <p>A <b>card user</b> is someone with Spend Card activity (a Spend Card event, or a sell request
 * paid with a {@code spend_card_*} method) or registered with {@code PUT /api/card-users/{uuid}};
 * never a buyer, withdrawer or depositor from a widget callback, because checking a card means
 * signing the user in with {@code sign-in-no-verify}, which opens a Mercuryo account and accepts
 * Mercuryo's terms on their behalf. Nobody is signed in without their e-mail and their real IP
 * registered (the API text requires the real IP in {@code B2B-User-Ip}): such users are listed on
 * the run as needing registration instead.
 *
 * <p>A <b>due sell request</b> is a Spend Card sell request (type {@code sell}, payment method
 * {@code spend_card_*}) not final a grace period after its last change, or one registered (admin
 * API, or named by a {@code crypto_top_up} event) that no callback has reported after the grace
 * period.
 */
final class Watchlist {

    /** A card user as known: {@code email} and {@code ip} may be missing. */
    record Candidate(String userUuid, String email, String ip, String cardId) {
        List<String> missing() {
            List<String> missing = new ArrayList<>();
            if (email == null) {
                missing.add("email");
            }
            if (ip == null) {
                missing.add("ip");
            }
            return missing;
        }

        CardUser user() {
            return new CardUser(userUuid, email, ip);
        }
    }

    record DueSellRequest(String id, String userUuid, String storedStatus, String type) {}

    private Watchlist() {}

    static Map<String, Candidate> cardUsers(DSLContext dsl) {
        Map<String, Candidate> users = new LinkedHashMap<>();
        dsl.resultQuery("""
                        with users as (
                            select user_uuid from card_user
                            union select user_uuid from spend_card_event where user_uuid is not null
                            union select user_uuid from transaction_state
                                   where user_uuid is not null and transaction_type = 'sell'
                                     and payment_method like 'spend\\_card%'
                        )
                        select u.user_uuid,
                               coalesce(c.email, (select s.user_email from transaction_state s
                                                   where s.user_uuid = u.user_uuid and s.user_email is not null
                                                   order by s.last_changed_at desc limit 1)) as email,
                               c.ip,
                               coalesce(c.card_id, (select e.card_id from spend_card_event e
                                                     where e.user_uuid = u.user_uuid and e.card_id is not null
                                                     order by e.recorded_at desc limit 1)) as card_id
                          from users u
                          left join card_user c on c.user_uuid = u.user_uuid
                         order by u.user_uuid""")
                .fetch()
                .forEach(r -> users.put(r.get("user_uuid", String.class), new Candidate(r.get("user_uuid", String.class),
                        r.get("email", String.class), r.get("ip", String.class), r.get("card_id", String.class))));
        return users;
    }

    static List<DueSellRequest> dueSellRequests(DSLContext dsl, Instant cutoff) {
        return dsl.resultQuery("""
                        select s.transaction_id as id, s.user_uuid, s.status, s.transaction_type
                          from transaction_state s
                         where not s.final and s.transaction_type = 'sell' and s.payment_method like 'spend\\_card%'
                           and s.last_changed_at <= cast(? as timestamptz)
                        union all
                        select w.id, w.user_uuid, null, 'sell'
                          from watched_sell_request w
                         where w.registered_at <= cast(? as timestamptz)
                           and not exists (select 1 from transaction_state s where s.transaction_id = w.id)
                         order by 1""", DSL.val(cutoff, SQLDataType.INSTANT), DSL.val(cutoff, SQLDataType.INSTANT))
                .fetch(r -> new DueSellRequest(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class),
                        r.get(3, String.class)));
    }
}
