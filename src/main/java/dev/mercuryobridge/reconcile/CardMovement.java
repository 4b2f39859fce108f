package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * A movement on a Spend Card as a callback's {@code transaction} object (or the API's list item)
 * describes it. The one place that decides what moves the balance and in which direction, used
 * by the reconciler's running total and by the report's card section alike.
 */
public record CardMovement(String type, String status, BigDecimal amount, String currency, Instant timestamp) {

    private static final Set<String> NOT_MOVING_MONEY = Set.of("DECLINED", "REVERSED", "FAILED", "CANCELLED", "REJECTED");
    private static final Set<String> CREDITS = Set.of("TOP_UP", "REFUND");

    /** Reads a callback's {@code transaction} object; empty when it is not a money movement we can read. */
    public static Optional<CardMovement> from(JsonNode t) {
        if (t == null || !t.isObject()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new CardMovement(
                    t.path("type").asText("").toUpperCase(Locale.ROOT),
                    t.path("status").asText("").toUpperCase(Locale.ROOT),
                    new BigDecimal(t.path("amount").asText()),
                    t.path("currency").asText("").toUpperCase(Locale.ROOT),
                    Instant.parse(t.path("timestamp").asText())));
        } catch (RuntimeException e) {
            return Optional.empty();   // kept with its event, visible on the admin API, not counted
        }
    }

    /** Declined, reversed and failed movements are reported but change no balance. */
    public boolean movesMoney() {
        return !NOT_MOVING_MONEY.contains(status);
    }

    public boolean isCredit() {
        return CREDITS.contains(type);
    }

    /** What the movement does to the balance: positive for top-ups and refunds, negative otherwise. */
    public BigDecimal balanceEffect() {
        if (!movesMoney()) {
            return BigDecimal.ZERO;
        }
        return isCredit() ? amount : amount.negate();
    }

    /** Equal for the same movement however its amount is written (30.06 and 30.060). */
    public Key key() {
        return new Key(type, amount.stripTrailingZeros(), currency, timestamp);
    }

    public record Key(String type, BigDecimal amount, String currency, Instant timestamp) {}

    public String describe() {
        return type + " " + amount.toPlainString() + " " + currency + " at " + timestamp;
    }
}
