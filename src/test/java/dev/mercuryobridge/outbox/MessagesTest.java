package dev.mercuryobridge.outbox;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.json.Json;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Messages writes its CloudEvents in one pass (a transition's data field by field); consumers
 * (and the bytes already stored in the outbox and on Kafka) know them as the CloudEvents JSON
 * format writes them, with the data as the JSON mapper writes the record. Every message here must
 * be byte for byte what the library writes for the same event.
 */
class MessagesTest {
    private static final EventFormat FORMAT = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE);
    private static final Messages MESSAGES = new Messages(new Config.Topics("t", "s", "r"));

    /** Awkward text: quotes, escapes, control characters, non-ASCII, a surrogate pair, line separators, HTML. */
    private static final List<String> TEXTS = List.of("plain", "", "with \"quotes\" and \\backslash\\", "tab\tnew\nline\r",
            "\u0000\u0001\u001f\u007f", "naïve café ₿ 中文", "emoji \uD83D\uDE80", "\u2028\u2029", "</script><!--", "a/b");

    @Test
    void transitions_are_the_bytes_the_cloudevents_json_format_writes() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < 500; i++) {
            Messages.Transition t = new Messages.Transition(text(random), maybe(random), text(random), maybe(random),
                    maybe(random), text(random), random.nextBoolean(), Messages.plain(decimal(random)), maybe(random),
                    Messages.plain(decimal(random)), maybe(random), Messages.plain(decimal(random)), Messages.plain(decimal(random)),
                    Messages.plain(decimal(random)), maybe(random), random.nextBoolean() ? null : instant(random),
                    instant(random), random.nextBoolean() ? "callback" : "reconciler", 1 + random.nextInt(1_000_000));
            assertSameAsLibrary(MESSAGES.transition(t), t.transactionId(),
                    t.statusChangedAt() != null ? t.statusChangedAt() : t.observedAt(), t);
        }
    }

    @Test
    void spend_card_events_and_findings_are_the_bytes_the_cloudevents_json_format_writes() throws Exception {
        Random random = new Random(7);
        for (int i = 0; i < 200; i++) {
            ObjectNode event = (ObjectNode) Json.MAPPER.readTree("""
                    {"id":"%s","amount":12.50,"big":1.5E+30,"n":-0.000001,"nested":{"list":[1,2.0,null,true,"x"]}}"""
                    .formatted(i));
            event.put("text", text(random));
            Messages.SpendCardEvent e = new Messages.SpendCardEvent("ev-" + i, "card." + text(random),
                    random.nextBoolean() ? null : text(random), maybe(random), instant(random), event);
            OutboxMessage m = MESSAGES.spendCardEvent(e);
            assertSameAsLibrary(m, m.key(), e.receivedAt(), e);

            Messages.Finding f = new Messages.Finding(random.nextLong(1, Long.MAX_VALUE), 1 + random.nextInt(3),
                    "final_status_conflict", text(random), maybe(random), maybe(random), "callback", instant(random));
            assertSameAsLibrary(MESSAGES.finding(f), f.subject(), f.detectedAt(), f);
        }
    }

    /** What the library writes for the event this message announces (as Messages built it before writing it itself). */
    private static void assertSameAsLibrary(OutboxMessage m, String subject, Instant time, Record data) throws Exception {
        CloudEvent event = CloudEventBuilder.v1()
                .withId(m.eventId())
                .withSource(Messages.SOURCE)
                .withType(m.eventType())
                .withSubject(subject)
                .withTime(time.atOffset(ZoneOffset.UTC))
                .withDataContentType("application/json")
                .withData(Json.MAPPER.writeValueAsBytes(data))
                .build();
        byte[] expected = FORMAT.serialize(event);
        assertThat(new String(m.payload(), StandardCharsets.UTF_8)).isEqualTo(new String(expected, StandardCharsets.UTF_8));
        assertThat(m.payload()).isEqualTo(expected);
    }

    private static String text(Random random) {
        return TEXTS.get(random.nextInt(TEXTS.size())) + random.nextInt(1000);
    }

    private static String maybe(Random random) {
        return random.nextInt(4) == 0 ? null : text(random);
    }

    private static BigDecimal decimal(Random random) {
        return random.nextInt(5) == 0 ? null : BigDecimal.valueOf(random.nextLong(), random.nextInt(-3, 12));
    }

    /** Whole seconds, milliseconds, microseconds and nanoseconds, so every fraction length is written. */
    private static Instant instant(Random random) {
        long seconds = 1_600_000_000L + random.nextLong(400_000_000L);
        int nanos = switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> random.nextInt(1000) * 1_000_000;
            case 2 -> random.nextInt(1_000_000) * 1_000;
            default -> random.nextInt(1_000_000_000);
        };
        return Instant.ofEpochSecond(seconds, nanos);
    }
}
