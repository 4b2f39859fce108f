package dev.mercuryobridge.config;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipped logback.xml: LOG_FORMAT=json gives one JSON object per line, with the line's fields. */
class LogFormatTest {

    /** Configures a fresh logging context from the production logback.xml and returns what it printed. */
    private static List<String> logWith(String format) throws Exception {
        URL config = LogFormatTest.class.getClassLoader().getResource("logback.xml");
        assertThat(config).as("the production logback.xml on the classpath").isNotNull();
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());   // what SLF4J's binding sets up
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            if (format != null) {
                context.putProperty("LOG_FORMAT", format);
            }
            JoranConfigurator configurator = new JoranConfigurator();
            configurator.setContext(context);
            configurator.doConfigure(config);
            Logger log = context.getLogger("dev.mercuryobridge.reconcile.SellRequestCheck");
            log.atInfo().addKeyValue("transaction_id", "0ab3f70c72c0f5056").addKeyValue("run_id", 7)
                    .log("sell request {} is {} at Mercuryo", "0ab3f70c72c0f5056", "succeeded");
            log.atWarn().addKeyValue("event_id", "6f1c1a4e-9a57-4b0e-a3c4-6d0f2b8f3c11").addKeyValue("outcome", "quarantined")
                    .log("quarantined a signed callback");
            log.info("a line without fields");
        } finally {
            context.stop();
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void json_format_writes_one_json_object_per_line_with_the_lines_fields() throws Exception {
        List<String> lines = logWith("json");

        assertThat(lines).hasSize(3);
        JsonNode first = Json.MAPPER.readTree(lines.get(0));
        assertThat(first.get("level").asText()).isEqualTo("INFO");
        assertThat(first.get("loggerName").asText()).isEqualTo("dev.mercuryobridge.reconcile.SellRequestCheck");
        assertThat(first.get("formattedMessage").asText()).isEqualTo("sell request 0ab3f70c72c0f5056 is succeeded at Mercuryo");
        assertThat(fields(first)).containsEntry("transaction_id", "0ab3f70c72c0f5056").containsEntry("run_id", "7");
        JsonNode second = Json.MAPPER.readTree(lines.get(1));
        assertThat(fields(second)).containsEntry("outcome", "quarantined")
                .containsEntry("event_id", "6f1c1a4e-9a57-4b0e-a3c4-6d0f2b8f3c11");
    }

    @Test
    void text_stays_the_default_with_the_fields_after_the_message() throws Exception {
        List<String> lines = logWith(null);

        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).contains("INFO").contains("sell request 0ab3f70c72c0f5056 is succeeded at Mercuryo")
                .contains("at Mercuryo transaction_id=0ab3f70c72c0f5056").doesNotStartWith("{");
        // A line without fields ends with its message, no trailing separator.
        assertThat(lines.get(2)).endsWith(" - a line without fields");
    }

    @Test
    void any_other_log_format_stops_the_service_at_start_naming_the_variable() {
        Map<String, String> env = new java.util.HashMap<>(ConfigTest.validEnv());
        env.put("LOG_FORMAT", "xml");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Config.fromEnvironment(env))
                .isInstanceOf(ConfigException.class).hasMessageContaining("LOG_FORMAT: must be one of text, json (got 'xml')");
    }

    /** The key-value pairs of a JSON line, whatever shape the encoder gives them (a list of one-entry objects). */
    private static Map<String, String> fields(JsonNode line) {
        Map<String, String> fields = new java.util.LinkedHashMap<>();
        JsonNode kvp = line.get("kvpList");
        assertThat(kvp).as("kvpList in " + line).isNotNull();
        for (JsonNode pair : kvp) {
            pair.fields().forEachRemaining(e -> fields.put(e.getKey(), e.getValue().asText()));
        }
        return fields;
    }
}
