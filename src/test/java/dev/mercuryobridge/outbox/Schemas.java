package dev.mercuryobridge.outbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.InputStream;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/** Validates message data against the JSON Schemas shipped in src/main/resources/schemas. */
final class Schemas {
    private static final Map<String, JsonSchema> CACHE = new ConcurrentHashMap<>();

    private Schemas() {}

    static void assertValid(String topic, JsonNode data) {
        JsonSchema schema = CACHE.computeIfAbsent(topic, t -> {
            InputStream in = Schemas.class.getResourceAsStream("/schemas/" + t + ".v1.data.schema.json");
            assertThat(in).as("schema for " + t).isNotNull();
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        });
        Set<ValidationMessage> errors = schema.validate(data);
        assertThat(errors).as("schema violations of " + data).isEmpty();
    }
}
