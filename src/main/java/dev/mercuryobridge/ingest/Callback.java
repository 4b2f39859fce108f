package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigDecimal;
import java.util.UUID;

/** The two kinds of callback Mercuryo sends, as validated by {@link CallbackParser}. */
public sealed interface Callback {

    /**
     * A transaction status report: the {@code data} of a transaction callback, or a status the
     * reconciler read from Mercuryo's API. {@code updatedAtTs} is Mercuryo's time of the change
     * (unix seconds); null for an API read, which carries none.
     */
    record Transaction(
            String id,
            String type,
            String status,
            Long updatedAtTs,
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
