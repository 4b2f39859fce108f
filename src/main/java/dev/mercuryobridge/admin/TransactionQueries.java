package dev.mercuryobridge.admin;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import org.jooq.DSLContext;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;

/** Read side of the admin API: a transaction with its history and the callbacks behind it. */
public final class TransactionQueries {

    record TransactionView(State state, List<Transition> transitions, List<RawCallback> callbacks, List<FindingView> findings) {}

    record State(String transactionId, String type, String paymentMethod, String status, @JsonProperty("final") boolean isFinal,
                 Long updatedAtTs, Long createdAtTs, String merchantTransactionId,
                 String amount, String currency, String fiatAmount, String fiatCurrency,
                 String fee, String partnerFee, String rate, String userUuid,
                 int lastSequence, String lastDetectedBy, Instant firstSeenAt, Instant lastChangedAt) {}

    record Transition(int sequence, String previousStatus, String status, @JsonProperty("final") boolean isFinal,
                      Instant statusChangedAt, String detectedBy, Instant recordedAt) {}

    /** A delivery as received: the body is shown as JSON when it is JSON, else as base64. */
    record RawCallback(long id, Instant receivedAt, String route, String outcome, String signatureKey,
                       String signatureVariant, JsonNode body, String bodyBase64) {}

    record FindingView(long id, String kind, String subject, String expected, String actual,
                       String detectedBy, Instant detectedAt, Instant resolvedAt) {}

    private final DSLContext dsl;

    public TransactionQueries(DSLContext dsl) {
        this.dsl = dsl;
    }

    Optional<TransactionView> find(String transactionId) {
        Optional<State> state = dsl.selectFrom(TRANSACTION_STATE)
                .where(TRANSACTION_STATE.TRANSACTION_ID.eq(transactionId))
                .fetchOptional(s -> new State(s.getTransactionId(), s.getTransactionType(), s.getPaymentMethod(),
                        s.getStatus(), s.getFinal(), s.getUpdatedAtTs(), s.getCreatedAtTs(), s.getMerchantTransactionId(),
                        plain(s.getAmount()), s.getCurrency(), plain(s.getFiatAmount()), s.getFiatCurrency(),
                        plain(s.getFee()), plain(s.getPartnerFee()), plain(s.getRate()), s.getUserUuid(),
                        s.getLastSequence(), s.getLastDetectedBy(), s.getFirstSeenAt(), s.getLastChangedAt()));
        return state.map(s -> new TransactionView(s, transitions(transactionId), callbacks(transactionId), findings(transactionId)));
    }

    private List<Transition> transitions(String transactionId) {
        return dsl.select(STATUS_TRANSITION.SEQUENCE, STATUS_TRANSITION.PREVIOUS_STATUS, STATUS_TRANSITION.STATUS,
                        STATUS_TRANSITION.FINAL, STATUS_TRANSITION.STATUS_CHANGED_AT, STATUS_TRANSITION.DETECTED_BY,
                        STATUS_TRANSITION.RECORDED_AT)
                .from(STATUS_TRANSITION)
                .where(STATUS_TRANSITION.TRANSACTION_ID.eq(transactionId))
                .orderBy(STATUS_TRANSITION.SEQUENCE)
                .fetch(org.jooq.Records.mapping(Transition::new));
    }

    private List<RawCallback> callbacks(String transactionId) {
        return dsl.select(CALLBACK.ID, CALLBACK.RECEIVED_AT, CALLBACK.ROUTE, CALLBACK.OUTCOME,
                        CALLBACK.SIGNATURE_KEY, CALLBACK.SIGNATURE_VARIANT, CALLBACK.BODY)
                .from(CALLBACK)
                .where(CALLBACK.TRANSACTION_ID.eq(transactionId))
                .orderBy(CALLBACK.RECEIVED_AT, CALLBACK.ID)
                .fetch(r -> rawCallback(r.value1(), r.value2(), r.value3(), r.value4(), r.value5(), r.value6(), r.value7()));
    }

    private List<FindingView> findings(String subject) {
        return dsl.select(FINDING.ID, FINDING.KIND, FINDING.SUBJECT, FINDING.EXPECTED, FINDING.ACTUAL,
                        FINDING.DETECTED_BY, FINDING.DETECTED_AT, FINDING.RESOLVED_AT)
                .from(FINDING)
                .where(FINDING.SUBJECT.eq(subject))
                .orderBy(FINDING.ID)
                .fetch(org.jooq.Records.mapping(FindingView::new));
    }

    static RawCallback rawCallback(long id, Instant receivedAt, String route, String outcome, String key,
                                   String variant, byte[] body) {
        JsonNode json = null;
        try {
            json = Json.MAPPER.readTree(new String(body, StandardCharsets.UTF_8));
        } catch (IOException e) {
            // Not JSON (possible for quarantined bodies): shown as base64 below instead.
        }
        return new RawCallback(id, receivedAt, route, outcome, key, variant, json,
                json == null ? Base64.getEncoder().encodeToString(body) : null);
    }

    static String plain(BigDecimal value) {
        return value == null ? null : value.toPlainString();
    }

}
