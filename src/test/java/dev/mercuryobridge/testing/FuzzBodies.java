package dev.mercuryobridge.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * Mutated callback bodies, as an attacker or a buggy sender would make them, for both routes.
 *
 * <p>A body starts as a well-formed Mercuryo callback (the reference sample's shape, or a Spend
 * Card event), drawn from small pools of ids so that reports of one transaction and copies of one
 * event meet each other. Most are then mutated: fields changed to hostile values (extreme
 * numbers, NUL, lone surrogates, formula text, huge strings, wrong types, deep nesting),
 * removed, duplicated, renamed or added; some get byte-level damage (flipped bytes, raw NUL,
 * CESU-8 surrogates, overlong encodings, truncation); a few are random bytes. Bodies stay within
 * the 256 KiB limit. Everything is drawn from the try's {@link Random}, which jqwik seeds, so a
 * failure is reproducible from its seed.
 */
public final class FuzzBodies {
    public static final int MAX_BODY_BYTES = 262_144;

    /** A body and how it was made (shown when a property fails). */
    public record Body(String recipe, byte[] bytes) {
        @Override
        public String toString() {
            String text = new String(bytes, StandardCharsets.UTF_8);
            StringBuilder preview = new StringBuilder();
            text.codePoints().limit(400).forEach(cp -> {
                if (cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) {
                    preview.append(String.format("\\x{%x}", cp));
                } else {
                    preview.appendCodePoint(cp);
                }
            });
            return recipe + " (" + bytes.length + " bytes): " + preview + (text.length() > 400 ? "…" : "");
        }
    }

    /**
     * The pools bodies draw from. {@code prefix} keeps runs apart; {@code createdAtTs} is when the
     * generated transactions and card movements happen (reports cover it).
     */
    public record Pools(String prefix, long createdAtTs, int transactions, int events, int cards) {
        public static Pools of(String prefix, long createdAtTs) {
            return new Pools(prefix, createdAtTs, 30, 60, 6);
        }

        /** Half from a small pool (reports of one transaction meet), half from a large one (new transactions). */
        String transactionId(Random r) {
            return prefix + "tx" + (r.nextBoolean() ? r.nextInt(transactions) : transactions + r.nextInt(1_000_000));
        }

        String eventId(Random r) {
            // Name-based UUIDs: the same index gives the same event id, so copies meet.
            return UUID.nameUUIDFromBytes((prefix + "event" + r.nextInt(events)).getBytes(StandardCharsets.UTF_8)).toString();
        }

        String cardId(Random r) {
            return prefix + "card" + r.nextInt(cards);
        }

        String userUuid(String cardId) {
            return UUID.nameUUIDFromBytes((cardId + "-user").getBytes(StandardCharsets.UTF_8)).toString();
        }
    }

    private FuzzBodies() {}

    public static Arbitrary<Body> transactions(Pools pools) {
        return Arbitraries.randoms().map(r -> transaction(r, pools));
    }

    public static Arbitrary<Body> spendCardEvents(Pools pools) {
        return Arbitraries.randoms().map(r -> spendCardEvent(r, pools));
    }

    // ---- bodies --------------------------------------------------------------------------------

    public static Body transaction(Random r, Pools p) {
        boolean sample = r.nextInt(4) == 0;
        return finish(r, sample ? "transaction (reference sample)" : "transaction",
                sample ? referenceSample(r, p) : baseTransaction(r, p), true);
    }

    public static Body spendCardEvent(Random r, Pools p) {
        return finish(r, "spend-card", baseSpendCardEvent(r, p), false);
    }

    private static Body finish(Random r, String route, Obj base, boolean transactionRoute) {
        int roll = r.nextInt(100);
        if (roll < 3) {
            return new Body(route + ": random bytes", randomBytes(r));
        }
        List<String> recipe = new ArrayList<>();
        Node root = base;
        if (roll >= 30) {
            int mutations = 1 + r.nextInt(4);
            for (int i = 0; i < mutations; i++) {
                root = mutate(r, root, recipe, transactionRoute);
            }
        } else {
            recipe.add("well-formed");
        }
        byte[] bytes = serialize(root).getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(10) == 0) {
            bytes = damage(r, bytes, recipe);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            bytes = Arrays.copyOf(bytes, MAX_BODY_BYTES);
            recipe.add("cut to the limit");
        }
        return new Body(route + ": " + String.join(", ", recipe), bytes);
    }

    private static Obj baseTransaction(Random r, Pools p) {
        String[] types = {"buy", "sell", "withdraw", "deposit", "fiat_deposit"};
        String[] statuses = {"new", "pending", "order_scheduled", "paid", "order_failed", "cancelled", "completed", "failed",
                "succeeded", "descriptor_failed", "some_new_status"};
        String id = p.transactionId(r);
        String cardId = p.cardId(r);
        Obj user = new Obj().put("email", str(id + "@fuzz.test")).put("phone", str("+3570000000"))
                .put("uuid4", str(p.userUuid(cardId))).put("country_code", str("de"));
        Obj data = new Obj()
                .put("id", str(id))
                .put("fee", str(decimal(r)))
                .put("card", new Obj().put("number", str("1111")))
                .put("rate", str("25756.99"))
                .put("type", str(pick(r, types)))
                .put("user", user)
                .put("amount", str("0.00148310"))
                .put("status", str(pick(r, statuses)))
                .put("currency", str(pick(r, "BTC", "ETH", "USDT")))
                .put("created_at", str("2023-09-07 07:32:33"))
                .put("updated_at", str("2023-09-07 07:32:46"))
                .put("fiat_amount", r.nextBoolean() ? str(decimal(r)) : raw(decimal(r)))
                .put("partner_fee", str("0.00"))
                .put("created_at_ts", raw(Long.toString(p.createdAtTs())))
                .put("fiat_currency", str(pick(r, "USD", "EUR")))
                .put("updated_at_ts", raw(Long.toString(p.createdAtTs() + r.nextInt(300))))
                .put("payment_method", str(pick(r, "card", "mobile_pay", "spend_card_topup", "spend")))
                .put("card_masked_pan", raw("null"))
                .put("merchant_transaction_id", r.nextInt(4) == 0 ? quoted(hostileText(r, false)) : str("m-" + r.nextInt(1000)));
        if (r.nextInt(4) == 0) {
            data.put("card_id", str(cardId));
        }
        return new Obj().put("data", data);
    }

    private static Obj baseSpendCardEvent(Random r, Pools p) {
        String cardId = p.cardId(r);
        String name = pick(r, "card_status", "crypto_top_up", "card_transaction", "card_transaction", "card_limit_changed");
        Obj event = new Obj()
                .put("event_id", str(r.nextInt(3) == 0 ? UUID.randomUUID().toString() : p.eventId(r)))
                .put("event_name", str(name))
                .put("card_id", str(cardId))
                .put("user", new Obj().put("uuid4", str(p.userUuid(cardId))).put("email", str(cardId + "@fuzz.test")));
        String timestamp = Instant.ofEpochSecond(p.createdAtTs() + r.nextInt(86_400) - 43_200).toString();
        switch (name) {
            case "card_status" -> event.put("status", str(pick(r, "active", "blocked", "frozen")));
            case "crypto_top_up" -> event
                    .put("sell_request", new Obj().put("id", str(p.prefix() + "sr" + r.nextInt(20)))
                            .put("merchant_transaction_id", str("m-" + r.nextInt(100)))
                            .put("status", str(pick(r, "new", "pending", "succeeded", "failed")))
                            .put("fiat_amount", str(decimal(r))).put("fee", str("1.00")).put("crypto_amount", str("0.00100000")))
                    .put("card_balance", new Obj().put("fiat_amount", str(decimal(r))).put("fiat_currency", str("EUR")));
            case "card_transaction" -> event.put("transaction", new Obj()
                    .put("type", str(pick(r, "PURCHASE", "TOP_UP", "REFUND", "ATM")))
                    .put("status", str(pick(r, "AUTHORIZED", "CLEARED", "DECLINED", "REVERSED")))
                    .put("decline_reason", raw("null"))
                    .put("amount", r.nextBoolean() ? str(decimal(r)) : raw(decimal(r)))
                    .put("local_amount", str(decimal(r)))
                    .put("currency", r.nextInt(10) == 0 ? quoted(hostileText(r, false)) : str("EUR"))
                    .put("fx_rate", str("1.0000"))
                    .put("mcc", str("5411"))
                    .put("counterparty_name", r.nextInt(4) == 0 ? quoted(hostileText(r, false)) : str("Shop " + r.nextInt(10)))
                    .put("timestamp", str(timestamp)));
            default -> event.put("data", new Obj().put("card_id", str(cardId)).put("limit", str(decimal(r))));
        }
        return event;
    }

    // ---- mutations ----------------------------------------------------------------------------

    private static Node mutate(Random r, Node root, List<String> recipe, boolean transactionRoute) {
        List<Obj> objects = new ArrayList<>();
        collectObjects(root, objects);
        if (objects.isEmpty()) {
            recipe.add("replaced whole");
            return raw(hostileValue(r));
        }
        Obj target = objects.get(r.nextInt(objects.size()));
        int op = r.nextInt(100);
        if (op < 45 && !target.fields.isEmpty()) {
            Field f = target.fields.get(r.nextInt(target.fields.size()));
            String value = hostileValue(r);
            recipe.add("set " + f.key + " to " + abbreviate(value));
            f.value = raw(value);
        } else if (op < 55 && !target.fields.isEmpty()) {
            Field f = target.fields.remove(r.nextInt(target.fields.size()));
            recipe.add("removed " + f.key);
        } else if (op < 65 && !target.fields.isEmpty()) {
            Field f = target.fields.get(r.nextInt(target.fields.size()));
            Node copy = r.nextBoolean() ? f.value : raw(hostileValue(r));
            target.fields.add(r.nextInt(target.fields.size() + 1), new Field(f.key, copy));
            recipe.add("duplicated " + f.key);
        } else if (op < 75) {
            String key = hostileKey(r);
            String value = hostileValue(r);
            target.fields.add(r.nextInt(target.fields.size() + 1), new Field(key, raw(value)));
            recipe.add("added " + abbreviate(key) + "=" + abbreviate(value));
        } else if (op < 82 && !target.fields.isEmpty()) {
            Field f = target.fields.get(r.nextInt(target.fields.size()));
            String key = hostileKey(r);
            recipe.add("renamed " + f.key + " to " + abbreviate(key));
            f.key = key;
        } else if (op < 90 && !target.fields.isEmpty()) {
            Field f = target.fields.get(r.nextInt(target.fields.size()));
            int depth = 1 + r.nextInt(r.nextBoolean() ? 10 : 120);
            recipe.add("nested " + f.key + " " + depth + " deep");
            f.value = new Nested(f.value, depth, r.nextBoolean());
        } else if (op < 95 && !target.fields.isEmpty()) {
            Field f = target.fields.get(r.nextInt(target.fields.size()));
            recipe.add("changed the type of " + f.key);
            f.value = wrongType(r, f.value);
        } else if (transactionRoute && root instanceof Obj o && o.get("data") != null) {
            recipe.add("wrapped in payload");
            return new Obj().put("payload", o);
        } else {
            recipe.add("replaced whole");
            return raw(hostileValue(r));
        }
        return root;
    }

    private static Node wrongType(Random r, Node value) {
        String text = serialize(value);
        if (text.startsWith("\"") && text.length() >= 2) {
            String inner = text.substring(1, text.length() - 1);
            return raw(inner.matches("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?") ? inner : pick(r, "[" + text + "]", "{\"v\":" + text + "}", "true"));
        }
        if (value instanceof Obj || text.startsWith("{")) {
            return raw(pick(r, "[]", "\"object\"", "0"));
        }
        return raw("\"" + escape(text) + "\"");
    }

    private static byte[] damage(Random r, byte[] bytes, List<String> recipe) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = bytes.length == 0 ? 0 : r.nextInt(bytes.length);
        int kind = r.nextInt(7);
        switch (kind) {
            case 0 -> {
                byte[] copy = bytes.clone();
                if (copy.length > 0) {
                    copy[at] ^= (byte) (1 << r.nextInt(8));
                }
                recipe.add("flipped a bit at " + at);
                return copy;
            }
            case 1 -> {
                recipe.add("cut at " + at);
                return Arrays.copyOf(bytes, at);
            }
            default -> {
                byte[][] inserts = {{0}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xC0, (byte) 0x80}, {(byte) 0xFF},
                        {(byte) 0xED, (byte) 0xA0, (byte) 0xBD, (byte) 0xED, (byte) 0xB8, (byte) 0x80}, {'\r', '\n'}};
                byte[] insert = inserts[r.nextInt(inserts.length)];
                out.write(bytes, 0, at);
                out.writeBytes(insert);
                out.write(bytes, at, bytes.length - at);
                recipe.add("inserted bytes " + HexFormatHolder.HEX.formatHex(insert) + " at " + at);
                return out.toByteArray();
            }
        }
    }

    private static final class HexFormatHolder {
        static final java.util.HexFormat HEX = java.util.HexFormat.of();
    }

    private static byte[] randomBytes(Random r) {
        byte[] b = new byte[r.nextInt(2_000)];
        r.nextBytes(b);
        if (b.length > 0 && r.nextBoolean()) {
            b[0] = '{';
        }
        return b;
    }

    // ---- hostile values (JSON text) ----------------------------------------------------------------

    private static final String[] EXTREME_NUMBERS = {
            "1e2147483647", "-1e2147483647", "1e-2147483648", "1e-2147483647", "1E+2147483648", "1e99999999999", "1e400",
            "1e-400", "1e100", "1e99", "1e-99", "1e-100", "1e131072", "0.1e-16383", "-0", "0", "0.000", "1e20", "-1e20",
            "99999999999999999999.99", "99999999999999999999", "0.000000000000000001", "0.0000000000000000001",
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1.5", "-5.00", "1E3", "2.5e-3"};

    static String hostileValue(Random r) {
        int kind = r.nextInt(100);
        if (kind < 20) {
            return pick(r, EXTREME_NUMBERS);
        } else if (kind < 30) {
            return randomNumber(r);
        } else if (kind < 40) {
            return "\"" + (r.nextBoolean() ? pick(r, EXTREME_NUMBERS) : randomNumber(r)) + "\"";
        } else if (kind < 70) {
            return "\"" + hostileText(r, true) + "\"";
        } else if (kind < 80) {
            return pick(r, "true", "false", "null", "[]", "{}", "[1,\"a\",null,{}]", "{\"a\":{\"b\":[]}}", "\"\"", "\" \"");
        } else if (kind < 88) {
            int depth = 1 + r.nextInt(r.nextBoolean() ? 70 : 200);
            return r.nextBoolean() ? "[".repeat(depth) + "]".repeat(depth)
                    : "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
        } else if (kind < 94) {
            // A huge string, at most one per body in practice (the body is cut to the limit otherwise).
            return "\"" + pick(r, "x", "\\u00e9", "😀", "\\\\", "a b").repeat(r.nextInt(60_000)) + "\"";
        } else {
            return "\"" + escape(decimal(r)) + "\"";
        }
    }

    /** Text as it appears between JSON quotes (already escaped), with traps for storage and reports. */
    static String hostileText(Random r, boolean escapesAllowed) {
        String[] traps = {"=cmd|' /C calc'!A0", "=HYPERLINK(\\\"http://evil.test\\\")", "+1+2", "-5.00", "-2+3", "@SUM(A1:A9)",
                "\\tTAB", "\\rCR", "<script>alert(1)</script>", "</td></tr></table>", "a,b;c", "\\\"quoted\\\"", "line\\nbreak",
                "&amp; &lt;", "😀 emoji", "\\ud83d\\ude00", "'single", "Ω≈ç√", "\\u0001\\u001f", "\\u007f\\u0085",
                "order 42", ""};
        String[] unstorable = {"\\u0000", "a\\u0000b", "\\ud800", "\\udc00", "x\\ud800y", "\\ude00\\ud83d"};
        StringBuilder b = new StringBuilder();
        int parts = 1 + r.nextInt(3);
        for (int i = 0; i < parts; i++) {
            int kind = r.nextInt(10);
            if (kind < 5) {
                b.append(pick(r, traps));
            } else if (kind < 7 && escapesAllowed) {
                b.append(pick(r, unstorable));
            } else {
                b.append(escape(randomString(r, 1 + r.nextInt(20))));
            }
        }
        return b.toString();
    }

    private static String hostileKey(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> "\\u0000";
            case 1 -> "a\\ud800";
            case 2 -> "k".repeat(1 + r.nextInt(5_000));
            case 3 -> "";
            case 4 -> pick(r, "id", "status", "amount", "updated_at_ts", "event_id", "event_name", "data", "transaction");
            case 5 -> "=SUM(1)";
            default -> escape(randomString(r, 1 + r.nextInt(12)));
        };
    }

    private static String randomNumber(Random r) {
        StringBuilder b = new StringBuilder();
        if (r.nextBoolean()) {
            b.append('-');
        }
        b.append(1 + r.nextInt(9)).append(digits(r, r.nextInt(r.nextInt(10) == 0 ? 120 : 25)));
        if (r.nextBoolean()) {
            b.append('.').append(digits(r, 1 + r.nextInt(r.nextInt(10) == 0 ? 120 : 25)));
        }
        if (r.nextInt(3) == 0) {
            long exponent = switch (r.nextInt(4)) {
                case 0 -> r.nextInt(41) - 20;
                case 1 -> r.nextInt(401) - 200;
                case 2 -> (long) r.nextInt();
                default -> r.nextLong() / 1000;
            };
            b.append(r.nextBoolean() ? 'e' : 'E').append(exponent);
        }
        return b.toString();
    }

    private static String decimal(Random r) {
        return (r.nextInt(8) == 0 ? "-" : "") + r.nextInt(10_000) + "." + String.format("%02d", r.nextInt(100));
    }

    private static String digits(Random r, int n) {
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append((char) ('0' + r.nextInt(10)));
        }
        return b.toString();
    }

    /** Random valid text: ASCII, Latin, CJK, emoji (paired surrogates), controls. */
    private static String randomString(Random r, int length) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < length; i++) {
            int cp = switch (r.nextInt(6)) {
                case 0 -> 0x20 + r.nextInt(0x5f);
                case 1 -> 0xa0 + r.nextInt(0x500);
                case 2 -> 0x4e00 + r.nextInt(0x500);
                case 3 -> 0x1f600 + r.nextInt(0x40);
                case 4 -> 1 + r.nextInt(0x1f);
                default -> 0x20 + r.nextInt(0x5f);
            };
            b.appendCodePoint(cp);
        }
        return b.toString();
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... options) {
        return options[r.nextInt(options.length)];
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…(" + s.length() + ")";
    }

    // ---- a JSON tree that can hold what Jackson's cannot (duplicate keys, invalid scalars) ----------

    private sealed interface Node permits Obj, Raw, Nested {}

    private static final class Field {
        String key;   // JSON-escaped, without quotes
        Node value;

        Field(String key, Node value) {
            this.key = key;
            this.value = value;
        }
    }

    private static final class Obj implements Node {
        final List<Field> fields = new ArrayList<>();

        Obj put(String key, Node value) {
            fields.add(new Field(key, value));
            return this;
        }

        Node get(String key) {
            return fields.stream().filter(f -> f.key.equals(key)).map(f -> f.value).findFirst().orElse(null);
        }
    }

    private record Raw(String json) implements Node {}

    private record Nested(Node inner, int depth, boolean arrays) implements Node {}

    private static Raw raw(String json) {
        return new Raw(json);
    }

    private static Raw str(String text) {
        return new Raw("\"" + escape(text) + "\"");
    }

    /** A string from text that is already JSON-escaped. */
    private static Raw quoted(String escaped) {
        return new Raw("\"" + escaped + "\"");
    }

    private static void collectObjects(Node n, List<Obj> into) {
        if (n instanceof Obj o) {
            into.add(o);
            for (Field f : o.fields) {
                collectObjects(f.value, into);
            }
        } else if (n instanceof Nested nested) {
            collectObjects(nested.inner(), into);
        }
    }

    static String serialize(Node n) {
        StringBuilder b = new StringBuilder();
        write(n, b);
        return b.toString();
    }

    private static void write(Node n, StringBuilder b) {
        switch (n) {
            case Raw raw -> b.append(raw.json());
            case Nested nested -> {
                String open = nested.arrays() ? "[" : "{\"n\":";
                String close = nested.arrays() ? "]" : "}";
                b.append(open.repeat(nested.depth()));
                write(nested.inner(), b);
                b.append(close.repeat(nested.depth()));
            }
            case Obj o -> {
                b.append('{');
                for (Iterator<Field> it = o.fields.iterator(); it.hasNext(); ) {
                    Field f = it.next();
                    b.append('"').append(f.key).append("\":");
                    write(f.value, b);
                    if (it.hasNext()) {
                        b.append(',');
                    }
                }
                b.append('}');
            }
        }
    }

    /** The reference sample as a tree, with an id from the pool. */
    private static Obj referenceSample(Random r, Pools p) {
        try {
            Obj root = (Obj) fromJackson(Json.MAPPER.readTree(Callbacks.REFERENCE_SAMPLE));
            Obj data = (Obj) root.get("data");
            data.fields.replaceAll(f -> f.key.equals("id") ? new Field("id", str(p.transactionId(r))) : f);
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Node fromJackson(JsonNode n) {
        if (n.isObject()) {
            Obj o = new Obj();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                o.put(escape(e.getKey()), fromJackson(e.getValue()));
            }
            return o;
        }
        return raw(n.toString());
    }
}
