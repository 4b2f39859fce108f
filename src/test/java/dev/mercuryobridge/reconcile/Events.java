package dev.mercuryobridge.reconcile;

import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/** Callback bodies of the shapes the reference documents, for the reconciler's tests. */
final class Events {

    private Events() {}

    /** A moment {@code secondsAgo} before now, to the second: card movements of the last minutes. */
    static Instant recent(long secondsAgo) {
        return Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(secondsAgo);
    }

    /** A Spend Card sell request's transaction callback (type sell, payment method spend_card_topup). */
    static String sellRequest(CardUserRef user, String id, String status, long updatedAtTs, String fiatAmount) {
        return """
                {"data":{"id":"%s","type":"sell","status":"%s","payment_method":"spend_card_topup","amount":"0.00400000",\
                "currency":"BTC","fiat_amount":"%s","fiat_currency":"EUR","fee":"1.20","partner_fee":"0.00",\
                "rate":"23845.00","merchant_transaction_id":"m-%s","created_at_ts":%d,"updated_at_ts":%d,\
                "user":{"uuid4":"%s","email":"%s"}}}""".formatted(id, status, fiatAmount, id, updatedAtTs - 60, updatedAtTs,
                user.userUuid(), user.email());
    }

    static String cardTransaction(CardUserRef user, CardTransaction t, String status) {
        return """
                {"event_id":"%s","event_name":"card_transaction","card_id":"%s","user":{"uuid4":"%s"},\
                "transaction":{"type":"%s","status":"%s","decline_reason":null,"amount":"%s","currency":"%s",\
                "local_amount":"%s","local_currency":"%s","fx_rate":"1.000000","mcc":"5411","merchant":"%s",\
                "timestamp":"%s"}}""".formatted(UUID.randomUUID(), user.cardId(), user.userUuid(), t.type(), status,
                t.amount().toPlainString(), t.currency(), t.amount().toPlainString(), t.currency(), t.counterpartyName(),
                t.timestamp());
    }

    static String cryptoTopUp(CardUserRef user, String sellRequestId, BigDecimal fiatAmount, BigDecimal balanceAfter) {
        return """
                {"event_id":"%s","event_name":"crypto_top_up","card_id":"%s","user":{"uuid4":"%s"},\
                "sell_request":{"id":"%s","merchant_transaction_id":"m-%s","status":"succeeded","fiat_amount":"%s",\
                "fee":"1.20","crypto_amount":"0.00400000","crypto_currency":"BTC"},\
                "card_balance":{"fiat_amount":"%s","fiat_currency":"EUR"}}""".formatted(UUID.randomUUID(), user.cardId(),
                user.userUuid(), sellRequestId, sellRequestId, fiatAmount.toPlainString(), balanceAfter.toPlainString());
    }

    static String cardStatus(CardUserRef user) {
        return """
                {"event_id":"%s","event_name":"card_status","card_id":"%s","user":{"uuid4":"%s"},"status":"active"}"""
                .formatted(UUID.randomUUID(), user.cardId(), user.userUuid());
    }
}
