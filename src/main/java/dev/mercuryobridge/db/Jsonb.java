package dev.mercuryobridge.db;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mercuryobridge.json.Json;
import org.jooq.JSONB;

import java.io.IOException;
import java.util.Optional;

/** Reads jsonb columns back into JSON trees. */
public final class Jsonb {

    /**
     * For data stored before today's limits: PostgreSQL prints a jsonb number in full (1e1000 is
     * 1001 digits) and allows deep nesting, both beyond what {@link Json#MAPPER} reads. Still
     * bounded: numeric holds at most 131,072 digits before the point and 16,383 after.
     */
    private static final ObjectMapper STORED = stored();

    private Jsonb() {}

    /** Our own jsonb (run details, findings): anything unreadable is a bug and throws. */
    public static JsonNode read(JSONB value) {
        try {
            return value == null ? null : Json.MAPPER.readTree(value.data());
        } catch (IOException e) {
            throw new IllegalStateException("stored jsonb is not JSON", e);
        }
    }

    /**
     * Callback data as it was stored, possibly before the parser's limits: read with the usual
     * limits, else with the wide ones (values past the usual limits are then left for the
     * caller's own checks, such as a decimal's digits); empty when even that fails. Never throws
     * for what PostgreSQL holds, so one old row cannot stop a report or a reconciliation run.
     */
    public static Optional<JsonNode> readStored(JSONB value) {
        if (value == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.MAPPER.readTree(value.data()));
        } catch (IOException strict) {
            try {
                return Optional.of(STORED.readTree(value.data()));
            } catch (IOException | RuntimeException wide) {
                return Optional.empty();
            }
        }
    }

    private static ObjectMapper stored() {
        ObjectMapper mapper = Json.MAPPER.copy();
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNumberLength(150_000)
                .maxNestingDepth(1_000)
                .build());
        return mapper;
    }
}
