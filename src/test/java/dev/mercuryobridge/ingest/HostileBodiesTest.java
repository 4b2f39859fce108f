package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.testing.Callbacks.SPEND_CARD_PATH;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Signed bodies that used to get 500 or an OutOfMemoryError (issue 10), over real HTTP into a
 * real PostgreSQL: each is answered 200, kept byte for byte and quarantined with a reason.
 */
class HostileBodiesTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    private static String tx(String extra) {
        return "{\"data\":{\"id\":\"h" + UUID.randomUUID().toString().substring(0, 8) + "\",\"type\":\"buy\",\"status\":\"new\","
                + "\"updated_at_ts\":1694071966" + extra + "}}";
    }

    private static String card(String extra) {
        return "{\"event_id\":\"" + UUID.randomUUID() + "\",\"event_name\":\"card_transaction\",\"card_id\":\"c-hostile\"" + extra + "}";
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Raw bytes: a CESU-8 encoded lone surrogate (ED A0 80) inside a string. */
    private static byte[] rawLoneSurrogate() {
        String head = tx(",\"note\":\"a");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes(head.substring(0, head.length() - 2)));
        out.write(0xED);
        out.write(0xA0);
        out.write(0x80);
        out.writeBytes(bytes("b\"}}"));
        return out.toByteArray();
    }

    private static Map<String, byte[]> transactionBodies() {
        Map<String, byte[]> b = new LinkedHashMap<>();
        b.put("amount 1e2147483647", bytes(tx(",\"amount\":1e2147483647")));
        b.put("fiat_amount -1e2147483647", bytes(tx(",\"fiat_amount\":-1e2147483647")));
        b.put("unparsed 1e-2147483648", bytes(tx(",\"extra\":1e-2147483648")));
        b.put("unparsed 1e-2147483647", bytes(tx(",\"extra\":{\"x\":[1e-2147483647]}")));
        b.put("unparsed 1e400", bytes(tx(",\"extra\":1e400")));
        b.put("2,000-digit number", bytes(tx(",\"extra\":" + "9".repeat(2_000))));
        b.put("NUL in a value", bytes(tx(",\"note\":\"a\\u0000b\"")));
        b.put("NUL in a key", bytes(tx(",\"a\\u0000b\":1")));
        b.put("NUL nested", bytes(tx(",\"x\":{\"y\":[{\"z\":\"\\u0000\"}]}")));
        b.put("escaped lone surrogate", bytes(tx(",\"note\":\"\\ud800\"")));
        b.put("raw lone surrogate", rawLoneSurrogate());
        b.put("raw NUL byte in a token", bytes("abc\u0000def"));
        b.put("deep nesting", bytes("{\"data\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}"));
        b.put("card_id of 10,000 characters", bytes(tx(",\"card_id\":\"" + "k".repeat(10_000) + "\"")));
        return b;
    }

    private static Map<String, byte[]> spendCardBodies() {
        Map<String, byte[]> b = new LinkedHashMap<>();
        b.put("transaction.amount \"1e2147483647\"", bytes(card(",\"transaction\":{\"type\":\"PURCHASE\",\"amount\":\"1e2147483647\","
                + "\"currency\":\"EUR\",\"timestamp\":\"2026-01-01T00:00:00Z\"}")));
        b.put("transaction.amount 1e-2147483647", bytes(card(",\"transaction\":{\"amount\":1e-2147483647}")));
        b.put("sell_request.fiat_amount abc", bytes(card(",\"sell_request\":{\"id\":\"sr1\",\"fiat_amount\":\"abc\"}")));
        b.put("card_balance.fiat_amount 1e25", bytes(card(",\"card_balance\":{\"fiat_amount\":1e25}")));
        b.put("unparsed 1e-2147483648", bytes(card(",\"x\":1e-2147483648")));
        b.put("sell_request.id of 10,000 characters", bytes(card(",\"sell_request\":{\"id\":\"" + "s".repeat(10_000) + "\"}")));
        b.put("NUL in a key", bytes(card(",\"\\u0000\":1")));
        return b;
    }

    private static void assertQuarantinedVerbatim(String path, String name, byte[] body) {
        var response = app.postCallback(path, body, SignatureVerifier.sign(TestApp.SIGN_KEY, body));

        assertThat(response.statusCode()).as(name).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Callback-Outcome")).as(name).hasValue("quarantined");
        var row = app.dsl().selectFrom(CALLBACK).where(CALLBACK.BODY_SHA256.eq(CallbackInserts.sha256(body))).fetchSingle();
        assertThat(row.getBody()).as(name).isEqualTo(body);
        assertThat(row.getOutcome()).as(name).isEqualTo("quarantined");
        var q = app.dsl().fetchSingle(QUARANTINE, QUARANTINE.CALLBACK_ID.eq(row.getId()));
        assertThat(q.getBody()).as(name).isEqualTo(body);
        assertThat(q.getReason()).as(name).isNotBlank().hasSizeLessThan(600);
    }

    @Test
    void every_hostile_transaction_callback_is_answered_200_kept_verbatim_and_quarantined() {
        transactionBodies().forEach((name, body) -> assertQuarantinedVerbatim(TRANSACTION_PATH, name, body));
    }

    @Test
    void every_hostile_spend_card_event_is_answered_200_kept_verbatim_and_quarantined() {
        spendCardBodies().forEach((name, body) -> assertQuarantinedVerbatim(SPEND_CARD_PATH, name, body));
    }

    @Test
    void quarantine_reasons_are_clear() {
        byte[] body = bytes(card(",\"transaction\":{\"amount\":\"1e2147483647\"}"));
        app.postCallback(SPEND_CARD_PATH, body, SignatureVerifier.sign(TestApp.SIGN_KEY, body));

        var row = app.dsl().selectFrom(CALLBACK).where(CALLBACK.BODY_SHA256.eq(CallbackInserts.sha256(body))).fetchSingle();
        assertThat(app.dsl().fetchSingle(QUARANTINE, QUARANTINE.CALLBACK_ID.eq(row.getId())).getReason())
                .isEqualTo("\"transaction.amount\" is not a decimal amount");
    }

    @Test
    void numbers_of_100_digits_are_stored_and_read_back_by_the_admin_api() throws Exception {
        String id = "h100-" + UUID.randomUUID().toString().substring(0, 8);
        String body = "{\"data\":{\"id\":\"" + id + "\",\"type\":\"buy\",\"status\":\"new\",\"updated_at_ts\":1,"
                + "\"big\":1e99,\"small\":-1e-99,\"int\":" + "9".repeat(100) + "}}";

        var response = app.postCallback(TRANSACTION_PATH, body);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Callback-Outcome")).hasValue("accepted");
        var shown = app.admin("GET", "/api/transactions/" + id);
        assertThat(shown.statusCode()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(shown.body()).at("/callbacks/0/body/data/small").decimalValue())
                .isEqualByComparingTo("-1e-99");
    }

    @Test
    void a_parsed_body_postgresql_still_refuses_is_quarantined_verbatim_not_an_error() {
        // What the parser should never let through: a key jsonb cannot hold.
        IngestService ingest = new IngestService(app.dsl(), new Messages(app.app().config().topics()), IngestListener.NONE, java.time.Clock.systemUTC());
        String id = "hpg-" + UUID.randomUUID().toString().substring(0, 8);
        ObjectNode data = Json.MAPPER.createObjectNode().put("id", id).put("status", "new").put("bad\u0000key", 1);
        Callback.Transaction parsed = new Callback.Transaction(id, "buy", "new", 1L, null, null, null, null, null, null,
                null, null, null, null, null, null, data);
        byte[] body = bytes("{\"data\":{\"id\":\"" + id + "\",\"status\":\"new\",\"bad\\u0000key\":1}}");

        Outcome outcome = ingest.ingest(Callback.Route.TRANSACTION, body,
                new SignatureVerifier.Match(0, SignatureVerifier.fingerprint(TestApp.SIGN_KEY), SignatureVerifier.Variant.RAW),
                new IngestService.Parsed(parsed, null));

        assertThat(outcome).isEqualTo(Outcome.QUARANTINED);
        var row = app.dsl().selectFrom(CALLBACK).where(CALLBACK.BODY_SHA256.eq(CallbackInserts.sha256(body))).fetchSingle();
        assertThat(row.getBody()).isEqualTo(body);
        assertThat(row.getTransactionId()).isNull();
        assertThat(app.dsl().fetchSingle(QUARANTINE, QUARANTINE.CALLBACK_ID.eq(row.getId())).getReason())
                .startsWith("PostgreSQL refused to store it (SQLState 22");
    }
}
