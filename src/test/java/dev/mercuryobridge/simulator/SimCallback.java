package dev.mercuryobridge.simulator;

import java.math.BigDecimal;
import java.util.Objects;

/**
 * One callback Mercuryo would send: the exact body, the route it goes to, and what it is about.
 *
 * @param key             the callback's identity: {@code transaction:<sell request id>:<status>}
 *                        for a transaction callback, {@code <event_name>:<event_id>} for a Spend
 *                        Card event
 * @param sellRequestId   the sell request it reports on, or null (card_status, card_transaction)
 * @param cardId          the card it concerns
 * @param cardId          the card it concerns (Spend Card events carry it; transaction callbacks
 *                        do not, it is kept here to know whose card a top-up credited)
 * @param status          the transaction status, the sell request status of a crypto_top_up,
 *                        the card status of a card_status event, the purchase's lifecycle status
 *                        ({@code AUTHORIZED}, {@code CLEARED}, {@code REVERSED}, {@code DECLINED})
 *                        of a card_transaction
 * @param finalStatus     whether it reports a final sell request status
 * @param updatedAtTs     the unix second the change happened at Mercuryo (for a card_transaction:
 *                        when this lifecycle step happened, not the authorization time its body
 *                        carries)
 * @param cardTransaction the ledger item the event announces, as the ledger showed it right after
 *                        the event (crypto_top_up: the TOP_UP item; card_transaction: the purchase
 *                        in this event's status), else null
 * @param cardBalance     the {@code card_balance.fiat_amount} a crypto_top_up reports, else null
 */
public record SimCallback(String key, Kind kind, String sellRequestId, String cardId, String status,
                          boolean finalStatus, long updatedAtTs, CardTransaction cardTransaction,
                          BigDecimal cardBalance, String body) {

    public static final String TRANSACTION_PATH = "/callbacks/mercuryo";
    public static final String SPEND_CARD_PATH = "/callbacks/mercuryo/spend-card";

    public enum Kind {
        TRANSACTION, CARD_STATUS, CRYPTO_TOP_UP, CARD_TRANSACTION;

        public boolean isSpendCardEvent() {
            return this != TRANSACTION;
        }
    }

    public SimCallback {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(body, "body");
    }

    /** The service path it is posted to. */
    public String path() {
        return kind == Kind.TRANSACTION ? TRANSACTION_PATH : SPEND_CARD_PATH;
    }

    /**
     * What delivery order is kept for: the sell request for its status reports and top-up event,
     * else the card.
     */
    public String subject() {
        return sellRequestId != null ? sellRequestId : cardId;
    }
}
