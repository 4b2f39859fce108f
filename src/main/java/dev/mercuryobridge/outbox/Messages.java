package dev.mercuryobridge.outbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.http.Json;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;

import java.math.BigDecimal;
import java.net.URI;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Builds the CloudEvents 1.0 messages (structured JSON mode) of the three topics. Ids are derived
 * from what the message announces (transaction and sequence, Spend Card event id, finding id), so
 * the same change always carries the same id and consumers can deduplicate on it.
 */
public final class Messages {
    public static final URI SOURCE = URI.create("mercuryo-bridge");
    public static final String CONTENT_TYPE = JsonFormat.CONTENT_TYPE;
    public static final String TRANSACTION_STATUS_CHANGED = "mercuryo.transaction.status_changed";
    public static final String SPEND_CARD_PREFIX = "mercuryo.spend_card.";
    public static final String FINDING_RAISED = "mercuryo.reconciliation.finding";

    private static final EventFormat FORMAT = Objects.requireNonNull(
            EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE), "CloudEvents JSON format");

    /** A transaction status transition, as stored. Amounts are exact decimals. */
    public record Transition(String transactionId, String merchantTransactionId, String transactionType,
                             String paymentMethod, String previousStatus, String status, boolean isFinal,
                             BigDecimal amount, String currency, BigDecimal fiatAmount, String fiatCurrency,
                             BigDecimal fee, BigDecimal partnerFee, BigDecimal rate, String userUuid,
                             Instant statusChangedAt, Instant observedAt, String detectedBy, int sequence) {}

    public record SpendCardEvent(String eventId, String eventName, String cardId, String userUuid,
                                 Instant receivedAt, ObjectNode event) {}

    /**
     * A finding announced for the {@code occurrence}-th time: 1 when first raised, more when it was
     * resolved and then observed again.
     */
    public record Finding(long id, int occurrence, String kind, String subject, String expected, String actual,
                          String detectedBy, Instant detectedAt) {}

    private final Config.Topics topics;

    public Messages(Config.Topics topics) {
        this.topics = topics;
    }

    public OutboxMessage transition(Transition t) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("transaction_id", t.transactionId());
        data.put("merchant_transaction_id", t.merchantTransactionId());
        data.put("transaction_type", t.transactionType());
        data.put("payment_method", t.paymentMethod());
        data.put("previous_status", t.previousStatus());
        data.put("status", t.status());
        data.put("final", t.isFinal());
        data.put("amount", plain(t.amount()));
        data.put("currency", t.currency());
        data.put("fiat_amount", plain(t.fiatAmount()));
        data.put("fiat_currency", t.fiatCurrency());
        data.put("fee", plain(t.fee()));
        data.put("partner_fee", plain(t.partnerFee()));
        data.put("rate", plain(t.rate()));
        data.put("user_uuid", t.userUuid());
        // Mercuryo's time of the change when a callback told it; an API read carries none.
        data.put("status_changed_at", t.statusChangedAt() == null ? null : t.statusChangedAt().toString());
        data.put("observed_at", t.observedAt().toString());
        data.put("detected_by", t.detectedBy());
        data.put("sequence", t.sequence());
        String id = "transaction/" + t.transactionId() + "/" + t.sequence();
        return message(topics.transactions(), t.transactionId(), id, TRANSACTION_STATUS_CHANGED,
                t.transactionId(), t.statusChangedAt() != null ? t.statusChangedAt() : t.observedAt(), data);
    }

    public OutboxMessage spendCardEvent(SpendCardEvent e) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("event_id", e.eventId());
        data.put("event_name", e.eventName());
        data.put("card_id", e.cardId());
        data.put("user_uuid", e.userUuid());
        data.put("received_at", e.receivedAt().toString());
        data.put("event", e.event());
        String key = e.cardId() != null ? e.cardId() : e.userUuid() != null ? e.userUuid() : e.eventId();
        return message(topics.spendCard(), key, "spend-card/" + e.eventId(), SPEND_CARD_PREFIX + e.eventName(),
                key, e.receivedAt(), data);
    }

    public OutboxMessage finding(Finding f) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("finding_id", f.id());
        data.put("occurrence", f.occurrence());
        data.put("kind", f.kind());
        data.put("subject", f.subject());
        data.put("expected", f.expected());
        data.put("actual", f.actual());
        data.put("detected_by", f.detectedBy());
        data.put("detected_at", f.detectedAt().toString());
        // The first announcement keeps the id it always had; a reopened finding is news again.
        String id = f.occurrence() == 1 ? "finding/" + f.id() : "finding/" + f.id() + "/" + f.occurrence();
        return message(topics.reconciliation(), f.subject(), id, FINDING_RAISED,
                f.subject(), f.detectedAt(), data);
    }

    private static OutboxMessage message(String topic, String key, String id, String type, String subject,
                                         Instant time, Map<String, Object> data) {
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("message data could not be serialized", e);
        }
        CloudEvent event = CloudEventBuilder.v1()
                .withId(id)
                .withSource(SOURCE)
                .withType(type)
                .withSubject(subject)
                .withTime(time.atOffset(ZoneOffset.UTC))
                .withDataContentType("application/json")
                .withData(json)
                .build();
        return new OutboxMessage(topic, key, id, type, FORMAT.serialize(event));
    }

    private static String plain(BigDecimal value) {
        return value == null ? null : value.toPlainString();
    }
}
