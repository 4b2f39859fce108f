package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;

/**
 * A sell request (Spend Card open with top-up, or crypto top-up) as
 * {@code GET /sdk-partner/spend/cards/sell-request/{id}/status} reports it:
 * {@code {address, amounts:{request:{amount, currency, fiat_amount, fiat_currency}}, card_id,
 * deposit_transaction, status}}. Amounts keep the scale Mercuryo sent and are null when it leaves
 * them out; {@code cardId} is null until a card is attached. The answer has no id and no time of
 * its own. {@code data} is the answer's {@code data} object exactly as Mercuryo sent it.
 */
public record SellRequestStatus(String id, String status, String cardId, BigDecimal amount, String currency,
                                BigDecimal fiatAmount, String fiatCurrency, JsonNode data) {

    static SellRequestStatus from(String id, JsonNode data) {
        JsonNode request = data.path("amounts").path("request");
        return new SellRequestStatus(
                id,
                Fields.requiredText(data, "status"),
                Fields.text(data, "card_id"),
                Fields.decimal(request, "amount"),
                Fields.text(request, "currency"),
                Fields.decimal(request, "fiat_amount"),
                Fields.text(request, "fiat_currency"),
                data.deepCopy());
    }
}
