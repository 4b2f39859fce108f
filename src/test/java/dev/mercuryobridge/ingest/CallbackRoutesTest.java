package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.db.generated.Tables.SPEND_CARD_EVENT;
import static dev.mercuryobridge.db.generated.Tables.STATUS_TRANSITION;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_EVENT;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.testing.Callbacks.REFERENCE_SAMPLE;
import static dev.mercuryobridge.testing.Callbacks.SPEND_CARD_PATH;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.cardStatusEvent;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/** Every answer of the callback routes, through real HTTP into a real PostgreSQL. */
class CallbackRoutesTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    private static String id() {
        return "tx" + UUID.randomUUID().toString().replace("-", "").substring(0, 15);
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return Json.MAPPER.readTree(response.body());
    }

    private static int callbacksStored(String transactionId) {
        return app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq(transactionId));
    }

    @Test
    void reference_sample_is_accepted_and_stored_verbatim() throws Exception {
        HttpResponse<String> response = app.postCallback(TRANSACTION_PATH, REFERENCE_SAMPLE);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).get("status").asText()).isEqualTo("accepted");
        byte[] stored = app.dsl().select(CALLBACK.BODY).from(CALLBACK)
                .where(CALLBACK.TRANSACTION_ID.eq("0ab3f70c72c0f5056")).fetchSingle(CALLBACK.BODY);
        assertThat(stored).isEqualTo(REFERENCE_SAMPLE.getBytes(StandardCharsets.UTF_8));
        var state = app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq("0ab3f70c72c0f5056"));
        assertThat(state.getStatus()).isEqualTo("paid");
        assertThat(state.getFinal()).isTrue();
        assertThat(state.getAmount().toPlainString()).isEqualTo("0.00148310");
        assertThat(state.getFiatAmount().toPlainString()).isEqualTo("50.00");
        assertThat(state.getMerchantTransactionId()).isEqualTo("123");
        assertThat(state.getUserUuid()).isEqualTo("b5086805-4b83-4415-8a00-5c1ad43210b6");
    }

    @Test
    void missing_signature_is_401_and_stores_nothing() throws Exception {
        String id = id();
        HttpResponse<String> response = app.postCallback(TRANSACTION_PATH,
                transaction(id, "buy", "new", 100).getBytes(StandardCharsets.UTF_8), null);

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(json(response).get("error").asText()).isEqualTo("invalid_signature");
        assertThat(json(response).get("message").asText()).isNotBlank();
        assertThat(callbacksStored(id)).isZero();
    }

    @Test
    void wrong_signature_is_401_and_stores_nothing() {
        String id = id();
        byte[] body = transaction(id, "buy", "new", 100).getBytes(StandardCharsets.UTF_8);
        String forged = SignatureVerifier.sign("some-other-key-0123456789", body);

        assertThat(app.postCallback(TRANSACTION_PATH, body, forged).statusCode()).isEqualTo(401);
        assertThat(app.postCallback(TRANSACTION_PATH, body, "not-hex").statusCode()).isEqualTo(401);
        assertThat(app.postCallback(TRANSACTION_PATH, body, "").statusCode()).isEqualTo(401);
        assertThat(callbacksStored(id)).isZero();
    }

    @Test
    void signature_over_a_different_body_is_401() {
        String id = id();
        byte[] signed = transaction(id, "buy", "new", 100).getBytes(StandardCharsets.UTF_8);
        byte[] tampered = transaction(id, "buy", "paid", 100).getBytes(StandardCharsets.UTF_8);

        var response = app.postCallback(TRANSACTION_PATH, tampered, SignatureVerifier.sign(TestApp.SIGN_KEY, signed));

        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(callbacksStored(id)).isZero();
    }

    @Test
    void old_rotated_key_is_accepted_and_recorded() {
        String a = id();
        byte[] bodyA = transaction(a, "buy", "new", 100).getBytes(StandardCharsets.UTF_8);
        assertThat(app.postCallback(TRANSACTION_PATH, bodyA, SignatureVerifier.sign(TestApp.OLD_SIGN_KEY, bodyA)).statusCode())
                .isEqualTo(200);

        var rowA = app.dsl().fetchSingle(CALLBACK, CALLBACK.TRANSACTION_ID.eq(a));
        assertThat(rowA.getSignatureKey()).isEqualTo(SignatureVerifier.fingerprint(TestApp.OLD_SIGN_KEY));
        assertThat(rowA.getSignatureVariant()).isEqualTo("raw");
    }

    @Test
    void oversized_body_is_413_before_it_is_read() throws Exception {
        byte[] big = new byte[262_145];
        Arrays.fill(big, (byte) ' ');
        // On a connection of its own: the server closes it after refusing the body. With
        // "Expect: 100-continue" the client sends the body only if the server asks for it, so the
        // 413 (decided from Content-Length alone) always reaches it, never a reset mid-upload.
        HttpResponse<String> response = TestApp.sendOnOwnConnection(java.net.http.HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + app.app().httpPort() + TRANSACTION_PATH))
                .expectContinue(true)
                .header("X-Signature", SignatureVerifier.sign(TestApp.SIGN_KEY, big))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(big)).build());

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(json(response).get("error").asText()).isEqualTo("payload_too_large");
    }

    @Test
    void oversized_chunked_body_without_content_length_is_413() throws Exception {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + app.app().httpPort() + TRANSACTION_PATH)
                .toURL().openConnection();
        c.setDoOutput(true);
        c.setRequestMethod("POST");
        c.setChunkedStreamingMode(8_192);
        c.setRequestProperty("X-Signature", "0".repeat(64));
        byte[] chunk = new byte[8_192];
        Arrays.fill(chunk, (byte) 'a');
        try (OutputStream out = c.getOutputStream()) {
            for (int i = 0; i < 40; i++) {   // 320 KiB, over the 256 KiB limit
                out.write(chunk);
            }
        } catch (java.io.IOException e) {
            // The server may close the connection as soon as the limit is passed.
        }
        assertThat(c.getResponseCode()).isEqualTo(413);
    }

    @Test
    void body_exactly_at_the_limit_is_read_and_verified() {
        String id = id();
        String base = transaction(id, "buy", "new", 100);
        String padded = base.substring(0, base.length() - 2) + ",\"pad\":\"" + "x".repeat(262_144 - base.length() - 9) + "\"}}";
        byte[] body = padded.getBytes(StandardCharsets.UTF_8);
        assertThat(body.length).isEqualTo(262_144);

        assertThat(app.postCallback(TRANSACTION_PATH, body, SignatureVerifier.sign(TestApp.SIGN_KEY, body)).statusCode())
                .isEqualTo(200);
        assertThat(callbacksStored(id)).isEqualTo(1);
    }

    @Test
    void duplicate_callback_is_acknowledged_and_changes_nothing() {
        String id = id();
        String body = transaction(id, "buy", "pending", 200);

        assertThat(app.postCallback(TRANSACTION_PATH, body).headers().firstValue("X-Callback-Outcome")).hasValue("accepted");
        var second = app.postCallback(TRANSACTION_PATH, body);

        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(second.body()).isEqualTo("{\"status\":\"accepted\"}");
        assertThat(second.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(second.headers().firstValue("X-Callback-Outcome")).hasValue("duplicate");
        assertThat(app.dsl().fetchCount(TRANSACTION_EVENT, TRANSACTION_EVENT.TRANSACTION_ID.eq(id))).isEqualTo(1);
        assertThat(app.dsl().fetchCount(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID.eq(id))).isEqualTo(1);
        // Both deliveries are kept, the second marked as a duplicate.
        assertThat(app.dsl().select(CALLBACK.OUTCOME).from(CALLBACK).where(CALLBACK.TRANSACTION_ID.eq(id))
                .orderBy(CALLBACK.ID).fetch(CALLBACK.OUTCOME)).containsExactly("accepted", "duplicate");
    }

    @Test
    void in_order_callbacks_build_the_transition_history() {
        String id = id();
        app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "new", 100));
        app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "pending", 110));
        app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "paid", 120));

        var transitions = app.dsl().selectFrom(STATUS_TRANSITION).where(STATUS_TRANSITION.TRANSACTION_ID.eq(id))
                .orderBy(STATUS_TRANSITION.SEQUENCE).fetch();
        assertThat(transitions).extracting(r -> r.getSequence()).containsExactly(1, 2, 3);
        assertThat(transitions).extracting(r -> r.getPreviousStatus()).containsExactly(null, "new", "pending");
        assertThat(transitions).extracting(r -> r.getStatus()).containsExactly("new", "pending", "paid");
        assertThat(transitions).extracting(r -> r.getFinal()).containsExactly(false, false, true);
    }

    @Test
    void reordered_late_callback_is_stored_but_does_not_move_the_state_back() {
        String id = id();
        app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "paid", 300));
        var late = app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "pending", 200));

        assertThat(late.statusCode()).isEqualTo(200);
        assertThat(late.headers().firstValue("X-Callback-Outcome")).hasValue("stale");
        assertThat(app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(id)).getStatus()).isEqualTo("paid");
        assertThat(app.dsl().fetchCount(TRANSACTION_EVENT, TRANSACTION_EVENT.TRANSACTION_ID.eq(id))).isEqualTo(2);
        assertThat(app.dsl().fetchCount(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID.eq(id))).isEqualTo(1);
    }

    @Test
    void second_different_final_status_becomes_a_finding_not_an_overwrite() {
        String id = id();
        app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "paid", 300));
        var conflicting = app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "cancelled", 400));

        assertThat(conflicting.statusCode()).isEqualTo(200);
        assertThat(app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(id)).getStatus()).isEqualTo("paid");
        var finding = app.dsl().fetchSingle(FINDING, FINDING.SUBJECT.eq(id));
        assertThat(finding.getKind()).isEqualTo("final_status_conflict");
        assertThat(finding.getExpected()).isEqualTo("paid");
        assertThat(finding.getActual()).isEqualTo("cancelled");
    }

    @Test
    void unknown_status_is_accepted_as_non_final() {
        String id = id();
        assertThat(app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "awaiting_3ds", 100)).statusCode()).isEqualTo(200);
        app.postCallback(TRANSACTION_PATH, transaction(id, "buy", "paid", 200));

        var state = app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(id));
        assertThat(state.getStatus()).isEqualTo("paid");
        assertThat(app.dsl().fetchCount(STATUS_TRANSITION, STATUS_TRANSITION.TRANSACTION_ID.eq(id))).isEqualTo(2);
    }

    @Test
    void payload_envelope_is_parsed_and_unknown_fields_are_kept() throws Exception {
        String id = id();
        String body = "{\"payload\":{\"data\":{\"id\":\"" + id + "\",\"type\":\"sell\",\"status\":\"succeeded\","
                + "\"updated_at_ts\":500,\"payment_method\":\"spend_card_topup\",\"brand_new_field\":{\"x\":[1,2]}}}}";
        assertThat(app.postCallback(TRANSACTION_PATH, body).statusCode()).isEqualTo(200);

        var state = app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(id));
        assertThat(state.getFinal()).isTrue();
        assertThat(state.getPaymentMethod()).isEqualTo("spend_card_topup");
        JsonNode data = Json.MAPPER.readTree(app.dsl().select(TRANSACTION_EVENT.DATA).from(TRANSACTION_EVENT)
                .where(TRANSACTION_EVENT.TRANSACTION_ID.eq(id)).fetchSingle(TRANSACTION_EVENT.DATA).data());
        assertThat(data.at("/brand_new_field/x/1").asInt()).isEqualTo(2);
    }

    @Test
    void signed_but_malformed_body_is_quarantined_and_acknowledged() {
        long before = app.dsl().fetchCount(QUARANTINE);
        var response = app.postCallback(TRANSACTION_PATH, "{\"data\": {\"id\": \"x1\", \"status\": ");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Callback-Outcome")).hasValue("quarantined");
        assertThat(app.dsl().fetchCount(QUARANTINE)).isEqualTo(before + 1);
        var q = app.dsl().selectFrom(QUARANTINE).orderBy(QUARANTINE.ID.desc()).limit(1).fetchSingle();
        assertThat(q.getReason()).contains("not valid JSON");
        assertThat(new String(q.getBody(), StandardCharsets.UTF_8)).isEqualTo("{\"data\": {\"id\": \"x1\", \"status\": ");
    }

    @Test
    void hostile_bodies_are_quarantined_never_500() {
        String[] hostile = {
                "[]", "null", "\"data\"", "{}", "{\"data\":[]}", "{\"data\":{\"id\":\"../../etc/passwd\",\"status\":\"paid\",\"updated_at_ts\":1}}",
                "{\"data\":{\"id\":\"a\",\"status\":\"paid\",\"updated_at_ts\":1,\"amount\":\"1e99999\"}}",
                "{\"data\":{\"id\":\"a\",\"status\":\"paid\",\"updated_at_ts\":-5}}",
                "{\"data\":{\"id\":\"a\",\"status\":\"pa'id; drop table callback;--\",\"updated_at_ts\":1}}",
                "{\"data\":{\"id\":\"a\",\"status\":\"paid\",\"updated_at_ts\":1,\"note\":\"nul\\u0000here\"}}",
                "{\"data\":{\"id\":\"a\",\"id\":\"b\",\"status\":\"paid\",\"updated_at_ts\":1}}",
                "[".repeat(5_000) + "]".repeat(5_000),
                "\u00ff\u00fe binary",
        };
        for (String body : hostile) {
            var response = app.postCallback(TRANSACTION_PATH, body);
            assertThat(response.statusCode()).as(body.length() > 80 ? body.substring(0, 80) : body).isEqualTo(200);
            assertThat(response.headers().firstValue("X-Callback-Outcome")).hasValue("quarantined");
        }
    }

    @Test
    void spend_card_event_is_stored_once_by_event_id() {
        String eventId = UUID.randomUUID().toString();
        String body = cardStatusEvent(eventId, "0a56a5796e6056355", "active");

        var first = app.postCallback(SPEND_CARD_PATH, body);
        var second = app.postCallback(SPEND_CARD_PATH, body);

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(second.headers().firstValue("X-Callback-Outcome")).hasValue("duplicate");
        var event = app.dsl().fetchSingle(SPEND_CARD_EVENT, SPEND_CARD_EVENT.EVENT_ID.eq(UUID.fromString(eventId)));
        assertThat(event.getEventName()).isEqualTo("card_status");
        assertThat(event.getCardId()).isEqualTo("0a56a5796e6056355");
        assertThat(event.getUserUuid()).isEqualTo("b5086805-4b83-4415-8a00-5c1ad43210b6");
    }

    @Test
    void spend_card_route_checks_the_signature_too() {
        byte[] body = cardStatusEvent(UUID.randomUUID().toString(), "c1", "active").getBytes(StandardCharsets.UTF_8);
        assertThat(app.postCallback(SPEND_CARD_PATH, body, null).statusCode()).isEqualTo(401);
    }

    @Test
    void spend_card_event_without_event_id_is_quarantined() {
        var response = app.postCallback(SPEND_CARD_PATH, "{\"event_name\":\"card_status\"}");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Callback-Outcome")).hasValue("quarantined");
    }

    @Test
    void unknown_route_and_wrong_method_get_json_errors() throws Exception {
        var get = TestApp.send(java.net.http.HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + app.app().httpPort() + TRANSACTION_PATH)).GET().build());
        assertThat(get.statusCode()).isIn(404, 405);
        assertThat(json(get).has("error")).isTrue();

        var missing = app.postCallback("/callbacks/other", "{}");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(json(missing).get("error").asText()).isEqualTo("not_found");
    }

    @Test
    void metrics_count_callbacks_by_result() {
        app.postCallback(TRANSACTION_PATH, transaction(id(), "buy", "new", 1).getBytes(StandardCharsets.UTF_8), null);
        var metrics = app.admin("GET", "/metrics", null);

        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("mercuryo_callbacks_total{result=\"bad_signature\",route=\"transaction\"}");
        assertThat(metrics.body()).contains("http_server_requests_seconds");
    }
}
