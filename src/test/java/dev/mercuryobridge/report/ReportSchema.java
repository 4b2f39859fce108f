package dev.mercuryobridge.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Validates a JSON report against {@code src/main/resources/schemas/report.v1.schema.json}, the
 * shipped description of the format, formats ({@code date}, {@code date-time}) asserted too.
 */
final class ReportSchema {
    static final String RESOURCE = "/schemas/report.v1.schema.json";
    private static final JsonSchema SCHEMA = load();

    private ReportSchema() {}

    private static JsonSchema load() {
        try (InputStream in = ReportSchema.class.getResourceAsStream(RESOURCE)) {
            assertThat(in).as(RESOURCE).isNotNull();
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                    .getSchema(in, SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void assertValid(JsonNode report) {
        Set<ValidationMessage> errors = SCHEMA.validate(report);
        assertThat(errors).as("schema violations of the report %s", abbreviate(report.toString())).isEmpty();
    }

    /** The violations, for tests that show the schema refuses what it must. */
    static Set<ValidationMessage> violations(JsonNode report) {
        return SCHEMA.validate(report);
    }

    private static String abbreviate(String s) {
        return s.length() <= 2_000 ? s : s.substring(0, 2_000) + "…";
    }
}
