package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigDecimal;
import java.util.UUID;

/** The two kinds of callback Mercuryo sends, as validated by {@link CallbackParser}. */
public sealed interface Callback {

    /** A transaction status report ({@code data} of the transaction callback). */
    record Transaction(
            String id,
            String type,
            String status,
            long updatedAtTs,
            Long createdAtTs,
            String paymentMethod,
            String merchantTransactionId,
            BigDecimal amount,
            String currency,
            BigDecimal fiatAmount,
            String fiatCurrency,
            BigDecimal fee,
            BigDecimal partnerFee,
            BigDecimal rate,
            String userUuid,
            String userEmail,
            ObjectNode data) implements Callback {}

    /** A Spend Card event: card_status, crypto_top_up, card_transaction, or a name not known yet. */
    record SpendCardEvent(
            UUID eventId,
            String eventName,
            String cardId,
            String userUuid,
            ObjectNode body) implements Callback {}

    /** Which route a body arrived on, which decides how it is parsed. */
    enum Route {
        TRANSACTION, SPEND_CARD;

        public String dbValue() {
            return name().toLowerCase();
        }
    }
}
