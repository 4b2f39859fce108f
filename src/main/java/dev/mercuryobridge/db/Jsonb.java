package dev.mercuryobridge.db;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import org.jooq.JSONB;

import java.io.IOException;

/** Reads jsonb columns back into JSON trees. */
public final class Jsonb {

    private Jsonb() {}

    public static JsonNode read(JSONB value) {
        try {
            return value == null ? null : Json.MAPPER.readTree(value.data());
        } catch (IOException e) {
            throw new IllegalStateException("stored jsonb is not JSON", e);
        }
    }
}
