package dev.mercuryobridge.simulator;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Objects;

/**
 * One item of a card's ledger, as {@code GET /sdk-partner/spend/cards/transactions} lists it.
 * Mercuryo's list items carry no id, so the reconciler can only match them to Spend Card events
 * by (type, amount, currency, timestamp) ({@link #key()}); the status is not part of the match,
 * since a purchase's item changes status in place (AUTHORIZED, then CLEARED or REVERSED).
 *
 * <p>Amounts are positive; {@link #type} says the direction ({@code TOP_UP} and {@code REFUND}
 * credit the card, anything else such as {@code PURCHASE} debits it) and {@link #status} whether
 * the item moves money at all ({@link #balanceEffect()}).
 */
public record CardTransaction(String type, String status, BigDecimal amount, String currency,
                              String counterpartyName, Instant timestamp) {

    public static final String TOP_UP = "TOP_UP";
    public static final String PURCHASE = "PURCHASE";
    public static final String REFUND = "REFUND";

    public static final String AUTHORIZED = "AUTHORIZED";
    public static final String CLEARED = "CLEARED";
    public static final String REVERSED = "REVERSED";
    public static final String DECLINED = "DECLINED";

    /** What identifies a ledger item, which has no id: everything but its status and counterparty. */
    public record Key(String type, BigDecimal amount, String currency, Instant timestamp) {
        public Key {
            amount = amount.stripTrailingZeros();
        }
    }

    public CardTransaction {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(amount, "amount");
        Objects.requireNonNull(currency, "currency");
        Objects.requireNonNull(timestamp, "timestamp");
        if (amount.signum() < 0) {
            throw new IllegalArgumentException("ledger amounts are positive; the type gives the direction: " + amount);
        }
        // The API prints whole seconds (2024-02-27T13:37:15Z); a fraction would make the list
        // item and the event's timestamp differ as text.
        if (timestamp.getNano() != 0) {
            throw new IllegalArgumentException("timestamp must be whole seconds: " + timestamp);
        }
    }

    /** Whether this item's type adds to the card balance (else it takes from it). */
    public boolean credits() {
        return TOP_UP.equals(type) || REFUND.equals(type);
    }

    /**
     * How this item, in its current status, has moved the balance: +amount for a credit, -amount
     * for a debit, zero when it is {@code REVERSED} (the authorization was released) or
     * {@code DECLINED} (nothing was taken).
     */
    public BigDecimal balanceEffect() {
        if (REVERSED.equals(status) || DECLINED.equals(status)) {
            return BigDecimal.ZERO;
        }
        return credits() ? amount : amount.negate();
    }

    public Key key() {
        return new Key(type, amount, currency, timestamp);
    }

    public boolean sameItemAs(CardTransaction other) {
        return key().equals(other.key());
    }

    public CardTransaction withStatus(String newStatus) {
        return new CardTransaction(type, newStatus, amount, currency, counterpartyName, timestamp);
    }
}
