package dev.mercuryobridge.simulator;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Objects;

/**
 * One item of a card's ledger, as {@code GET /sdk-partner/spend/cards/transactions} lists it.
 * Mercuryo's list items carry no id, so the reconciler can only match them to Spend Card events
 * by (type, status, amount, currency, timestamp); the simulator keeps exactly those fields, and
 * the {@code transaction} object of the matching event carries the same values.
 *
 * <p>Amounts are positive; {@link #type} says the direction ({@code TOP_UP} and {@code REFUND}
 * credit the card, anything else such as {@code PURCHASE} debits it).
 */
public record CardTransaction(String type, String status, BigDecimal amount, String currency,
                              String counterpartyName, Instant timestamp) {

    public static final String TOP_UP = "TOP_UP";
    public static final String PURCHASE = "PURCHASE";
    public static final String REFUND = "REFUND";
    public static final String CLEARED = "CLEARED";

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

    /** Whether this item adds to the card balance (else it takes from it). */
    public boolean credits() {
        return TOP_UP.equals(type) || REFUND.equals(type);
    }
}
