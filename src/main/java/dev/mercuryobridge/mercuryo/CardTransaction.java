package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * One item of {@code GET /sdk-partner/spend/cards/transactions}: {@code {amount,
 * counterparty_name, currency, status, timestamp, type}} (e.g. type {@code TOP_UP}, status
 * {@code CLEARED}). The items have no id, so they are matched by type, amount, currency and time;
 * those four are never null (an item without them is an answer we cannot use).
 */
public record CardTransaction(String type, String status, BigDecimal amount, String currency, Instant timestamp,
                              String counterpartyName) {

    static CardTransaction from(JsonNode item) {
        return new CardTransaction(
                Fields.requiredText(item, "type"),
                Fields.text(item, "status"),
                Fields.requiredDecimal(item, "amount"),
                Fields.requiredText(item, "currency"),
                Fields.requiredInstant(item, "timestamp"),
                Fields.text(item, "counterparty_name"));
    }
}
