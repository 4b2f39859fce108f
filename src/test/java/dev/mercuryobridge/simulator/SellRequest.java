package dev.mercuryobridge.simulator;

import java.math.BigDecimal;
import java.util.Objects;

/**
 * A Spend Card sell request (a crypto top-up or an off-ramp card opening) as the simulator holds
 * it. Immutable: a status change replaces the record.
 */
public record SellRequest(String id, String userUuid, String cardId, String status,
                          BigDecimal cryptoAmount, String cryptoCurrency,
                          BigDecimal fiatAmount, String fiatCurrency,
                          String address, String merchantTransactionId) {

    public SellRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(userUuid, "userUuid");
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(cryptoAmount, "cryptoAmount");
        Objects.requireNonNull(cryptoCurrency, "cryptoCurrency");
        Objects.requireNonNull(fiatAmount, "fiatAmount");
        Objects.requireNonNull(fiatCurrency, "fiatCurrency");
        Objects.requireNonNull(address, "address");
    }

    public SellRequest withStatus(String newStatus) {
        return new SellRequest(id, userUuid, cardId, newStatus, cryptoAmount, cryptoCurrency,
                fiatAmount, fiatCurrency, address, merchantTransactionId);
    }
}
