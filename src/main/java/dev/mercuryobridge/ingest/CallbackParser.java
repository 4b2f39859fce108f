package dev.mercuryobridge.ingest;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.json.Json;

import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Turns a verified body into a {@link Callback}, or says precisely why it cannot
 * ({@link InvalidCallbackException}); such bodies are quarantined, never dropped.
 *
 * <p>Lenient where Mercuryo varies (the {@code payload} envelope, numbers as strings or numbers,
 * unknown fields, which are kept), strict where acting on a wrong value would cost money (ids,
 * statuses, timestamps and amounts must be well-formed and within sane bounds).
 *
 * <p>Whatever it accepts can be stored as jsonb and read back: every string and key is text
 * PostgreSQL can hold, and every number, in any field, is checked by its digits and exponent
 * <em>before</em> anything formats it or computes with it ({@code 1e2147483647} is one digit, but
 * written out in full it is two billion; PostgreSQL refuses it, and {@code 1e400}, which it
 * accepts, would come back as 401 digits our own reader refuses).
 */
final class CallbackParser {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}");
    private static final Pattern WORD = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,63}");
    // Compiled once: String.matches compiles its pattern on every call (five amounts per callback).
    private static final Pattern UNIX_SECONDS = Pattern.compile("\\d{1,12}");
    private static final Pattern DECIMAL = Pattern.compile("-?\\d{1,30}(\\.\\d{1,30})?");
    private static final Pattern CURRENCY = Pattern.compile("[A-Za-z0-9_]{1,16}");
    private static final DateTimeFormatter MERCURYO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    /** Unix seconds beyond year 5000 are not a Mercuryo timestamp. */
    private static final long MAX_TS = 95_617_584_000L;
    /** Amounts beyond these bounds are not Mercuryo amounts; they would not fit the ledger anyway. */
    private static final BigDecimal MAX_AMOUNT = new BigDecimal("1e20");
    private static final int MAX_SCALE = 18;
    /**
     * Digits of a number written out in full (no exponent), as PostgreSQL's jsonb prints it back.
     * The same bound as the JSON reader's number length, so what is stored can always be read.
     */
    static final int MAX_NUMBER_DIGITS = 100;
    /** Spend Card amounts the reconciler and the report compute with: each must be a sane decimal. */
    private static final List<String> SPEND_CARD_AMOUNTS = List.of(
            "transaction.amount", "transaction.local_amount",
            "sell_request.fiat_amount", "sell_request.crypto_amount", "sell_request.fee",
            "card_balance.fiat_amount");

    private CallbackParser() {}

    public static Callback parse(Callback.Route route, byte[] body) throws InvalidCallbackException {
        ObjectNode root = readObject(body);
        return switch (route) {
            case TRANSACTION -> transaction(root);
            case SPEND_CARD -> spendCardEvent(root);
        };
    }

    static Callback.Transaction transaction(ObjectNode root) throws InvalidCallbackException {
        JsonNode data = root.get("data");
        if (data == null && root.get("payload") instanceof ObjectNode payload) {
            data = payload.get("data");
        }
        if (!(data instanceof ObjectNode d)) {
            throw new InvalidCallbackException("no \"data\" object (expected {\"data\":{...}} or {\"payload\":{\"data\":{...}}})");
        }
        String id = requiredId(d, "id");
        String status = requiredWord(d, "status");
        JsonNode user = d.get("user");
        // The write path learns a card user from a textual card_id: it must be an id like any other.
        if (d.get("card_id") instanceof JsonNode cardId && cardId.isTextual() && !cardId.textValue().isEmpty()) {
            id(cardId, "card_id");
        }
        return new Callback.Transaction(
                id,
                optionalWord(d, "type"),
                status,
                updatedAtTs(d),
                optionalTs(d, "created_at_ts"),
                optionalWord(d, "payment_method"),
                optionalText(d, "merchant_transaction_id", 256),
                amount(d, "amount"),
                currency(d, "currency"),
                amount(d, "fiat_amount"),
                currency(d, "fiat_currency"),
                amount(d, "fee"),
                amount(d, "partner_fee"),
                amount(d, "rate"),
                user instanceof ObjectNode u ? optionalText(u, "uuid4", 64) : null,
                user instanceof ObjectNode u ? optionalText(u, "email", 320) : null,
                d);
    }

    static Callback.SpendCardEvent spendCardEvent(ObjectNode root) throws InvalidCallbackException {
        String rawEventId = optionalText(root, "event_id", 64);
        if (rawEventId == null) {
            throw new InvalidCallbackException("\"event_id\" is missing");
        }
        UUID eventId;
        try {
            eventId = UUID.fromString(rawEventId);
        } catch (IllegalArgumentException e) {
            throw new InvalidCallbackException("\"event_id\" is not a UUID");
        }
        if (!eventId.toString().equalsIgnoreCase(rawEventId)) {
            throw new InvalidCallbackException("\"event_id\" is not a canonical UUID");
        }
        String eventName = requiredWord(root, "event_name");
        String cardId = firstId(root, "card_id", "card.id", "data.card_id", "data.card.id");
        String userUuid = firstId(root, "user_uuid", "user.uuid4", "user.uuid", "data.user_uuid", "data.user.uuid4");
        // The write path watches a textual, non-blank sell_request.id: it must be an id like any other.
        JsonNode sellRequestId = root.path("sell_request").path("id");
        if (sellRequestId.isTextual() && !sellRequestId.textValue().isBlank()) {
            id(sellRequestId, "sell_request.id");
        }
        // Amounts the reconciler and the report add up: an event that would break them later is
        // quarantined now, with the field named.
        for (String path : SPEND_CARD_AMOUNTS) {
            int dot = path.indexOf('.');
            if (root.get(path.substring(0, dot)) instanceof ObjectNode parent) {
                amount(parent, path.substring(dot + 1), path);
            }
        }
        return new Callback.SpendCardEvent(eventId, eventName, cardId, userUuid, root);
    }

    private static ObjectNode readObject(byte[] body) throws InvalidCallbackException {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(body);
        } catch (JacksonException e) {
            throw new InvalidCallbackException("not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidCallbackException("unreadable body: " + e.getMessage());
        } catch (NumberFormatException | ArithmeticException e) {
            // Jackson hands some numbers to BigDecimal unchecked: 1e-2147483648 overflows its scale.
            throw new InvalidCallbackException("not valid JSON: a number cannot be read (" + e.getMessage() + ")");
        }
        if (!(node instanceof ObjectNode object)) {
            throw new InvalidCallbackException("the body is not a JSON object");
        }
        requireStorable(object);
        return object;
    }

    /**
     * PostgreSQL's jsonb cannot hold U+0000, an unpaired surrogate is not text, and a number
     * beyond {@link #MAX_NUMBER_DIGITS} digits either fails the insert or cannot be read back;
     * such a body would fail (and be retried by Mercuryo for days), so it is quarantined instead.
     */
    private static void requireStorable(JsonNode node) throws InvalidCallbackException {
        if (node.isTextual()) {
            checkText(node.textValue());
        } else if (node.isNumber()) {
            checkNumber(node);
        } else if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                checkText(e.getKey());
                requireStorable(e.getValue());
            }
        } else if (node.isArray()) {
            for (JsonNode child : node) {
                requireStorable(child);
            }
        }
    }

    private static void checkNumber(JsonNode n) throws InvalidCallbackException {
        long digits;
        if (n.isBigDecimal()) {
            digits = writtenOutDigits(n.decimalValue());
        } else if (n.isBigInteger()) {
            digits = n.bigIntegerValue().abs().toString().length();
        } else if (n.isIntegralNumber()) {
            return;   // int or long
        } else {
            // Floats never reach here (decimals are read as BigDecimal); refuse rather than guess.
            throw new InvalidCallbackException("contains a number that is not an exact decimal");
        }
        if (digits > MAX_NUMBER_DIGITS) {
            throw new InvalidCallbackException("contains a number of more than " + MAX_NUMBER_DIGITS
                    + " digits when written out in full (such as 1e400 or 1e-2147483647)");
        }
    }

    /**
     * How many digits the number has written out in full ({@code 1e3} → 4, {@code 0.001} → 4),
     * from its precision and scale alone: {@code toPlainString()} of {@code 1e2147483647} would
     * need gigabytes.
     */
    static long writtenOutDigits(BigDecimal v) {
        long precision = v.precision();
        long scale = v.scale();
        return scale <= 0 ? precision - scale : Math.max(precision - scale, 1) + scale;
    }

    private static void checkText(String s) throws InvalidCallbackException {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) {
                throw new InvalidCallbackException("contains a NUL character (\\u0000)");
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    throw new InvalidCallbackException("contains an unpaired UTF-16 surrogate");
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                throw new InvalidCallbackException("contains an unpaired UTF-16 surrogate");
            }
        }
    }

    private static long updatedAtTs(ObjectNode d) throws InvalidCallbackException {
        Long ts = optionalTs(d, "updated_at_ts");
        if (ts != null) {
            return ts;
        }
        String text = optionalText(d, "updated_at", 64);
        if (text == null) {
            throw new InvalidCallbackException("neither \"updated_at_ts\" nor \"updated_at\" is present");
        }
        try {
            return LocalDateTime.parse(text, MERCURYO_TIME).toEpochSecond(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(text).getEpochSecond();
            } catch (DateTimeParseException e2) {
                throw new InvalidCallbackException("\"updated_at\" is not a UTC time like 2023-09-07 07:32:46");
            }
        }
    }

    private static Long optionalTs(ObjectNode d, String field) throws InvalidCallbackException {
        JsonNode n = d.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        long value;
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            value = n.longValue();
        } else if (n.isTextual() && UNIX_SECONDS.matcher(n.textValue()).matches()) {
            value = Long.parseLong(n.textValue());
        } else {
            throw new InvalidCallbackException("\"" + field + "\" is not a whole number of unix seconds");
        }
        if (value < 0 || value > MAX_TS) {
            throw new InvalidCallbackException("\"" + field + "\" is out of range (" + value + ")");
        }
        return value;
    }

    private static BigDecimal amount(ObjectNode d, String field) throws InvalidCallbackException {
        return amount(d, field, field);
    }

    /** A decimal amount (string or number) within the ledger's bounds; {@code label} names it in the reason. */
    private static BigDecimal amount(ObjectNode d, String field, String label) throws InvalidCallbackException {
        JsonNode n = d.get(field);
        if (n == null || n.isNull() || (n.isTextual() && n.textValue().isBlank())) {
            return null;
        }
        BigDecimal value;
        if (n.isNumber()) {
            value = n.decimalValue();
        } else if (n.isTextual() && DECIMAL.matcher(n.textValue().trim()).matches()) {
            value = new BigDecimal(n.textValue().trim());
        } else {
            throw new InvalidCallbackException("\"" + label + "\" is not a decimal amount");
        }
        // Bounds by scale and precision first: no arithmetic on a number of unknown size.
        if (value.scale() > MAX_SCALE || (long) value.precision() - value.scale() > 20
                || value.abs().compareTo(MAX_AMOUNT) >= 0) {
            // toString, not toPlainString: it stays short whatever the exponent.
            throw new InvalidCallbackException("\"" + label + "\" is out of range (" + value + ")");
        }
        return value;
    }

    private static String currency(ObjectNode d, String field) throws InvalidCallbackException {
        String c = optionalText(d, field, 16);
        if (c != null && !CURRENCY.matcher(c).matches()) {
            throw new InvalidCallbackException("\"" + field + "\" is not a currency code");
        }
        return c == null ? null : c.toUpperCase(Locale.ROOT);
    }

    private static String requiredId(ObjectNode d, String field) throws InvalidCallbackException {
        String id = id(d.get(field), field);
        if (id == null) {
            throw new InvalidCallbackException("\"" + field + "\" is missing");
        }
        return id;
    }

    private static String id(JsonNode n, String field) throws InvalidCallbackException {
        if (n == null || n.isNull()) {
            return null;
        }
        String text = n.isTextual() ? n.textValue() : n.isIntegralNumber() ? n.asText() : null;
        if (text == null || !ID.matcher(text).matches()) {
            throw new InvalidCallbackException("\"" + field + "\" is not a valid id");
        }
        return text;
    }

    private static String firstId(ObjectNode root, String... paths) throws InvalidCallbackException {
        for (String path : paths) {
            JsonNode n = root.at("/" + path.replace('.', '/'));
            if (!n.isMissingNode() && !n.isNull()) {
                return id(n, path);
            }
        }
        return null;
    }

    private static String requiredWord(ObjectNode d, String field) throws InvalidCallbackException {
        String w = optionalWord(d, field);
        if (w == null) {
            throw new InvalidCallbackException("\"" + field + "\" is missing");
        }
        return w;
    }

    /** Statuses, types and names: normalised to lower case, limited to a safe alphabet. */
    private static String optionalWord(ObjectNode d, String field) throws InvalidCallbackException {
        String w = optionalText(d, field, 64);
        if (w == null) {
            return null;
        }
        w = w.trim().toLowerCase(Locale.ROOT);
        if (!WORD.matcher(w).matches()) {
            throw new InvalidCallbackException("\"" + field + "\" is not a valid name");
        }
        return w;
    }

    private static String optionalText(ObjectNode d, String field, int maxLength) throws InvalidCallbackException {
        JsonNode n = d.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual() && !n.isNumber()) {
            throw new InvalidCallbackException("\"" + field + "\" is not a string");
        }
        String text = n.asText();
        if (text.length() > maxLength) {
            throw new InvalidCallbackException("\"" + field + "\" is longer than " + maxLength + " characters");
        }
        return text.isEmpty() ? null : text;
    }
}
