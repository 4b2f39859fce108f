package dev.mercuryobridge.ingest;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.mercuryobridge.testing.LogCapture;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.mercuryobridge.testing.Callbacks.SPEND_CARD_PATH;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.cardStatusEvent;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ingest log lines a platform ships (LOG_FORMAT=json) carry the transaction id, the Spend
 * Card event id and the outcome as fields, not only inside the message text.
 */
class IngestLogFieldsTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    private static Map<String, String> fields(ILoggingEvent e) {
        Map<String, String> f = new HashMap<>();
        if (e.getKeyValuePairs() != null) {
            e.getKeyValuePairs().forEach(kv -> f.put(kv.key, String.valueOf(kv.value)));
        }
        return f;
    }

    private static List<Map<String, String>> fieldsOf(LogCapture capture) {
        return capture.events().stream().map(IngestLogFieldsTest::fields).toList();
    }

    @Test
    void a_conflicting_final_status_is_logged_with_the_transaction_id_and_outcome() {
        try (LogCapture log = LogCapture.of(TransactionUpdates.class)) {
            assertThat(app.postCallback(TRANSACTION_PATH, transaction("lf-conflict", "buy", "paid", 100)).statusCode())
                    .isEqualTo(200);
            assertThat(app.postCallback(TRANSACTION_PATH, transaction("lf-conflict", "buy", "cancelled", 200)).statusCode())
                    .isEqualTo(200);
            assertThat(fieldsOf(log)).anySatisfy(f -> assertThat(f)
                    .containsEntry("transaction_id", "lf-conflict").containsEntry("outcome", "conflict"));
        }
    }

    @Test
    void a_quarantined_body_is_logged_with_its_callback_id_and_outcome() {
        try (LogCapture log = LogCapture.of(IngestService.class)) {
            assertThat(app.postCallback(TRANSACTION_PATH, "{\"data\":\"not an object\"}").statusCode()).isEqualTo(200);
            assertThat(fieldsOf(log)).anySatisfy(f -> assertThat(f)
                    .containsKey("callback_id").containsEntry("route", "transaction").containsEntry("outcome", "quarantined"));
        }
    }

    @Test
    void a_rejected_signature_is_logged_with_the_route_and_outcome() {
        try (LogCapture log = LogCapture.of(CallbackRoutes.class)) {
            byte[] body = transaction("lf-bad", "buy", "new", 100).getBytes(StandardCharsets.UTF_8);
            assertThat(app.postCallback(SPEND_CARD_PATH, body, "0".repeat(64)).statusCode()).isEqualTo(401);
            assertThat(fieldsOf(log)).anySatisfy(f -> assertThat(f)
                    .containsEntry("route", "spend_card").containsEntry("outcome", "rejected"));
        }
    }

    @Test
    void at_debug_every_stored_callback_is_one_line_with_its_ids_and_outcome() {
        Logger logger = (Logger) LoggerFactory.getLogger(IngestService.class);
        Level before = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        try (LogCapture log = LogCapture.of(IngestService.class)) {
            String eventId = UUID.randomUUID().toString();
            assertThat(app.postCallback(TRANSACTION_PATH, transaction("lf-debug", "buy", "new", 100)).statusCode()).isEqualTo(200);
            assertThat(app.postCallback(TRANSACTION_PATH, transaction("lf-debug", "buy", "new", 100)).statusCode()).isEqualTo(200);
            assertThat(app.postCallback(SPEND_CARD_PATH, cardStatusEvent(eventId, "card-lf", "active")).statusCode())
                    .isEqualTo(200);
            assertThat(fieldsOf(log))
                    .anySatisfy(f -> assertThat(f).containsEntry("transaction_id", "lf-debug").containsEntry("outcome", "accepted"))
                    .anySatisfy(f -> assertThat(f).containsEntry("transaction_id", "lf-debug").containsEntry("outcome", "duplicate"))
                    .anySatisfy(f -> assertThat(f).containsEntry("event_id", eventId).containsEntry("outcome", "accepted"));
        } finally {
            logger.setLevel(before);
        }
    }
}
