package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.Instant;

/**
 * Reads fields from Mercuryo's {@code data} objects. Trees rather than bound records, because
 * Mercuryo adds fields over time and an unknown field must not fail a poll. A field that is present
 * but unusable throws {@link IllegalArgumentException} naming the field.
 */
final class Fields {

    private Fields() {}

    /** The field as text, or null when it is absent, null or an empty string. */
    static String text(JsonNode parent, String name) {
        JsonNode node = parent.get(name);
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (!node.isValueNode()) {
            throw new IllegalArgumentException("field '" + name + "' is not a single value");
        }
        String text = node.asText();
        return text.isEmpty() ? null : text;
    }

    static String requiredText(JsonNode parent, String name) {
        return present(text(parent, name), name);
    }

    private static <T> T present(T value, String name) {
        if (value == null) {
            throw new IllegalArgumentException("field '" + name + "' is missing");
        }
        return value;
    }

    /** Mercuryo sends amounts as strings ("0.00400000"); numbers are accepted too. Scale is kept. */
    static BigDecimal decimal(JsonNode parent, String name) {
        JsonNode node = parent.get(name);
        if (node != null && node.isNumber()) {
            return node.decimalValue();
        }
        String text = text(parent, name);
        if (text == null) {
            return null;
        }
        try {
            return new BigDecimal(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("field '" + name + "' is not a decimal: " + abbreviate(text));
        }
    }

    static BigDecimal requiredDecimal(JsonNode parent, String name) {
        return present(decimal(parent, name), name);
    }

    /** ISO-8601 with Z or an offset ("2024-02-27T13:37:15Z"). */
    static Instant instant(JsonNode parent, String name) {
        String text = text(parent, name);
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text.strip());
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("field '" + name + "' is not an ISO-8601 instant: " + abbreviate(text));
        }
    }

    static Instant requiredInstant(JsonNode parent, String name) {
        return present(instant(parent, name), name);
    }

    /** The first {@code max} characters, marked when cut: bodies and values go into messages. */
    static String abbreviate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max) + "…";
    }

    private static String abbreviate(String text) {
        return abbreviate(text, 40);
    }
}
