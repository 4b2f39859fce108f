package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;

/** {@code GET /sdk-partner/spend/cards/balance}: {@code {fiat_amount, fiat_currency}}, scale kept ({@code 90.00}). */
public record CardBalance(BigDecimal fiatAmount, String fiatCurrency) {

    static CardBalance from(JsonNode data) {
        return new CardBalance(Fields.requiredDecimal(data, "fiat_amount"), Fields.requiredText(data, "fiat_currency"));
    }
}
