package dev.mercuryobridge.ingest;

import dev.mercuryobridge.testing.LogCapture;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whitespace-stripped signature variant over real HTTP: off by default (and the log says how
 * to turn it on), on when configured (with the risk it carries), and the 401 log line throttled.
 */
class SignatureVariantRoutesTest {

    private static String pretty(String id, String merchantId) {
        return "{ \"data\" : {\n  \"id\": \"" + id + "\", \"type\": \"buy\", \"status\": \"new\", \"updated_at_ts\": 100,\n"
                + "  \"merchant_transaction_id\": \"" + merchantId + "\" } }";
    }

    private static byte[] stripped(String body) {
        return body.replaceAll("[ \\t\\r\\n]", "").getBytes(StandardCharsets.UTF_8);
    }

    private static String id() {
        return "sv" + UUID.randomUUID().toString().replace("-", "").substring(0, 14);
    }

    @Test
    void by_default_a_body_signed_without_its_whitespace_is_refused_and_the_log_says_how_to_accept_it() {
        try (TestApp app = TestApp.start(); LogCapture log = LogCapture.of(CallbackRoutes.class)) {
            String id = id();
            String body = pretty(id, "order42");
            String signature = SignatureVerifier.sign(TestApp.SIGN_KEY, stripped(body));

            var response = app.postCallback(TRANSACTION_PATH, body.getBytes(StandardCharsets.UTF_8), signature);

            assertThat(response.statusCode()).isEqualTo(401);
            assertThat(app.dsl().fetchCount(CALLBACK, CALLBACK.TRANSACTION_ID.eq(id))).isZero();
            List<String> lines = log.lines();
            assertThat(lines).hasSize(1);
            assertThat(lines.getFirst()).contains("MERCURYO_SIGNATURE_VARIANTS=raw,whitespace_stripped")
                    .doesNotContain(id).doesNotContain("order42").doesNotContain(signature)
                    .doesNotContain(TestApp.SIGN_KEY).doesNotContain(TestApp.OLD_SIGN_KEY);
        }
    }

    @Test
    void a_plainly_wrong_signature_does_not_suggest_the_stripped_variant() {
        try (TestApp app = TestApp.start(); LogCapture log = LogCapture.of(CallbackRoutes.class)) {
            byte[] body = pretty(id(), "order42").getBytes(StandardCharsets.UTF_8);

            var response = app.postCallback(TRANSACTION_PATH, body, SignatureVerifier.sign("not-our-key-0123456789", body));

            assertThat(response.statusCode()).isEqualTo(401);
            assertThat(log.lines()).singleElement().asString()
                    .contains("does not match any configured key").doesNotContain("MERCURYO_SIGNATURE_VARIANTS");
        }
    }

    @Test
    void with_the_stripped_variant_on_it_verifies_is_recorded_and_whitespace_inside_a_string_can_be_forged() {
        try (TestApp app = TestApp.start(Map.of("MERCURYO_SIGNATURE_VARIANTS", "raw,whitespace_stripped"))) {
            String id = id();
            String genuine = pretty(id, "order42");
            String signature = SignatureVerifier.sign(TestApp.SIGN_KEY, stripped(genuine));
            // The risk the README states: a space moved into a string keeps the stripped form.
            String forged = pretty(id, "order 42").replace("\"id\": ", "\"id\":");
            assertThat(stripped(forged)).isEqualTo(stripped(genuine));

            var response = app.postCallback(TRANSACTION_PATH, forged.getBytes(StandardCharsets.UTF_8), signature);

            assertThat(response.statusCode()).isEqualTo(200);
            var row = app.dsl().fetchSingle(CALLBACK, CALLBACK.TRANSACTION_ID.eq(id));
            assertThat(row.getSignatureVariant()).isEqualTo("whitespace_stripped");
            assertThat(row.getSignatureKey()).isEqualTo(SignatureVerifier.fingerprint(TestApp.SIGN_KEY));
        }
    }

    @Test
    void a_flood_of_bad_signatures_writes_one_log_line_and_the_metric_counts_every_one() {
        try (TestApp app = TestApp.start(); LogCapture log = LogCapture.of(CallbackRoutes.class)) {
            byte[] body = pretty(id(), "x").getBytes(StandardCharsets.UTF_8);
            int requests = 40;
            long started = System.nanoTime();
            for (int i = 0; i < requests; i++) {
                assertThat(app.postCallback(TRANSACTION_PATH, body, i % 2 == 0 ? null : "0".repeat(64)).statusCode())
                        .isEqualTo(401);
            }
            long elapsedSeconds = (System.nanoTime() - started) / 1_000_000_000L;

            // One line per REJECTED_LOG_INTERVAL: one for a burst shorter than an interval (as it
            // is unless the machine is very busy), never one per request.
            assertThat(log.lines()).hasSizeBetween(1, 1 + (int) (elapsedSeconds / CallbackRoutes.REJECTED_LOG_INTERVAL.toSeconds()));
            var metrics = app.admin("GET", "/metrics", null);
            assertThat(metrics.body())
                    .contains("mercuryo_callbacks_total{result=\"bad_signature\",route=\"transaction\"} " + requests + ".0");
        }
    }
}
