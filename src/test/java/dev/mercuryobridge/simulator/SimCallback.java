package dev.mercuryobridge.simulator;

import java.util.Objects;

/**
 * One callback Mercuryo would send: the exact body, the route it goes to, and what it is about.
 *
 * @param key             the callback's identity: {@code transaction:<sell request id>:<status>}
 *                        for a transaction callback, {@code <event_name>:<event_id>} for a Spend
 *                        Card event
 * @param sellRequestId   the sell request it reports on, or null (card_status, card_transaction)
 * @param cardId          the card it concerns
 * @param status          the transaction status, the sell request status of a crypto_top_up,
 *                        the card status of a card_status event, else null
 * @param finalStatus     whether it reports a final sell request status
 * @param updatedAtTs     the unix second the change happened at Mercuryo
 * @param cardTransaction the ledger item the event announces (crypto_top_up, card_transaction),
 *                        else null
 */
public record SimCallback(String key, Kind kind, String sellRequestId, String cardId, String status,
                          boolean finalStatus, long updatedAtTs, CardTransaction cardTransaction, String body) {

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
