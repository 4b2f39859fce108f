package dev.mercuryobridge.outbox;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.json.Json;
import io.cloudevents.SpecVersion;
import io.cloudevents.jackson.JsonFormat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Builds the CloudEvents 1.0 messages (structured JSON mode) of the three topics. Ids are derived
 * from what the message announces (transaction and sequence, Spend Card event id, finding id), so
 * the same change always carries the same id and consumers can deduplicate on it.
 */
public final class Messages {
    static final URI SOURCE = URI.create("mercuryo-bridge");
    public static final String CONTENT_TYPE = JsonFormat.CONTENT_TYPE;
    static final String TRANSACTION_STATUS_CHANGED = "mercuryo.transaction.status_changed";
    static final String SPEND_CARD_PREFIX = "mercuryo.spend_card.";
    static final String FINDING_RAISED = "mercuryo.reconciliation.finding";

    private static final String SPEC_VERSION = SpecVersion.V1.toString();
    private static final String SOURCE_TEXT = SOURCE.toString();
    static final String DATA_CONTENT_TYPE = "application/json";

    /*
     * The data of each message is one of these records, written by the snake_case mapper in
     * component order; the topic schemas (src/main/resources/schemas) describe them. Amounts are
     * exact decimals written out in full as strings ({@link #plain}); times are ISO-8601 in UTC.
     */

    /**
     * A transaction status transition, as stored. {@code statusChangedAt} is Mercuryo's time of
     * the change when a callback told it; an API read carries none (null).
     */
    public record Transition(String transactionId, String merchantTransactionId, String transactionType,
                             String paymentMethod, String previousStatus, String status,
                             @JsonProperty("final") boolean isFinal,
                             String amount, String currency, String fiatAmount, String fiatCurrency,
                             String fee, String partnerFee, String rate, String userUuid,
                             Instant statusChangedAt, Instant observedAt, String detectedBy, int sequence) {}

    public record SpendCardEvent(String eventId, String eventName, String cardId, String userUuid,
                                 Instant receivedAt, ObjectNode event) {}

    /**
     * A finding announced for the {@code occurrence}-th time: 1 when first raised, more when it was
     * resolved and then observed again.
     */
    public record Finding(long findingId, int occurrence, String kind, String subject, String expected, String actual,
                          String detectedBy, Instant detectedAt) {}

    private final Config.Topics topics;

    public Messages(Config.Topics topics) {
        this.topics = topics;
    }

    public OutboxMessage transition(Transition t) {
        String id = "transaction/" + t.transactionId() + "/" + t.sequence();
        return message(topics.transactions(), t.transactionId(), id, TRANSACTION_STATUS_CHANGED,
                t.transactionId(), t.statusChangedAt() != null ? t.statusChangedAt() : t.observedAt(), g -> write(g, t));
    }

    /**
     * A transition's data, field by field: what the mapper writes for the record (snake_case names
     * in component order, nulls kept, times as ISO-8601 instants), without its reflective
     * serializer on the hot path. {@code MessagesTest} holds it to the mapper's output.
     */
    private static void write(JsonGenerator g, Transition t) throws IOException {
        g.writeStartObject();
        g.writeStringField("transaction_id", t.transactionId());
        g.writeStringField("merchant_transaction_id", t.merchantTransactionId());
        g.writeStringField("transaction_type", t.transactionType());
        g.writeStringField("payment_method", t.paymentMethod());
        g.writeStringField("previous_status", t.previousStatus());
        g.writeStringField("status", t.status());
        g.writeBooleanField("final", t.isFinal());
        g.writeStringField("amount", t.amount());
        g.writeStringField("currency", t.currency());
        g.writeStringField("fiat_amount", t.fiatAmount());
        g.writeStringField("fiat_currency", t.fiatCurrency());
        g.writeStringField("fee", t.fee());
        g.writeStringField("partner_fee", t.partnerFee());
        g.writeStringField("rate", t.rate());
        g.writeStringField("user_uuid", t.userUuid());
        g.writeStringField("status_changed_at", instant(t.statusChangedAt()));
        g.writeStringField("observed_at", instant(t.observedAt()));
        g.writeStringField("detected_by", t.detectedBy());
        g.writeNumberField("sequence", t.sequence());
        g.writeEndObject();
    }

    private static String instant(Instant i) {
        return i == null ? null : DateTimeFormatter.ISO_INSTANT.format(i);
    }

    @FunctionalInterface
    private interface Data {
        void write(JsonGenerator g) throws IOException;
    }

    public OutboxMessage spendCardEvent(SpendCardEvent e) {
        String key = e.cardId() != null ? e.cardId() : e.userUuid() != null ? e.userUuid() : e.eventId();
        return message(topics.spendCard(), key, "spend-card/" + e.eventId(), SPEND_CARD_PREFIX + e.eventName(),
                key, e.receivedAt(), g -> Json.MAPPER.writeValue(g, e));
    }

    public OutboxMessage finding(Finding f) {
        // The first announcement keeps the id it always had; a reopened finding is news again.
        String id = f.occurrence() == 1 ? "finding/" + f.findingId() : "finding/" + f.findingId() + "/" + f.occurrence();
        return message(topics.reconciliation(), f.subject(), id, FINDING_RAISED, f.subject(), f.detectedAt(),
                g -> Json.MAPPER.writeValue(g, f));
    }

    /**
     * The CloudEvent in structured JSON mode, written in one pass: the bytes the CloudEvents JSON
     * format writes for this event (attributes in its order, then the data as it is serialized
     * here), without serializing the data, copying it into an event and writing it again (a
     * twentieth of the service's CPU per stored callback). {@code MessagesTest} holds it to the
     * library's output.
     */
    private static OutboxMessage message(String topic, String key, String id, String type, String subject,
                                         Instant time, Data data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(768);
        try (JsonGenerator g = Json.MAPPER.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("specversion", SPEC_VERSION);
            g.writeStringField("id", id);
            g.writeStringField("source", SOURCE_TEXT);
            g.writeStringField("type", type);
            g.writeStringField("datacontenttype", DATA_CONTENT_TYPE);
            g.writeStringField("subject", subject);
            g.writeStringField("time", DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(time.atOffset(ZoneOffset.UTC)));
            g.writeFieldName("data");
            data.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("message could not be serialized", e);
        }
        return new OutboxMessage(topic, key, id, type, out.toByteArray());
    }

    /** An exact decimal written out in full (never in exponent form), or null. */
    public static String plain(BigDecimal value) {
        return value == null ? null : value.toPlainString();
    }
}
