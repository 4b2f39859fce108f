package dev.mercuryobridge.config;

import java.net.URI;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads settings from the environment. Each read is the one definition of its setting: the
 * name, the default, the parser with its bounds, and whether it is a secret. The reader records
 * every setting as it reads it, so that the same definitions give the configuration, its masked
 * form for the start-up log, and the list the README's table is checked against.
 *
 * <p>Problems are collected instead of stopping at the first, so one start shows all of them.
 */
final class Settings {

    /**
     * A setting as defined: {@code defaultValue} is null when it is required and empty when its
     * default is empty; {@code shown} is its value for the log (masked when secret).
     */
    record Setting(String name, String defaultValue, boolean secret, String shown) {}

    private final Map<String, String> env;
    private final Map<String, Setting> read = new LinkedHashMap<>();
    final List<String> problems = new ArrayList<>();

    Settings(Map<String, String> env) {
        this.env = env;
    }

    /** Every setting read so far, in reading order. */
    List<Setting> all() {
        return List.copyOf(read.values());
    }

    /** Name to value for the log, secrets masked. */
    Map<String, String> masked() {
        Map<String, String> m = new LinkedHashMap<>();
        read.values().forEach(s -> m.put(s.name(), s.shown()));
        return m;
    }

    private <T> T record(String name, String defaultValue, boolean secret, T value, String shown) {
        read.put(name, new Setting(name, defaultValue, secret, shown));
        return value;
    }

    private <T> T record(String name, Object defaultValue, T value) {
        return record(name, String.valueOf(defaultValue), false, value, String.valueOf(value));
    }

    /** Whether a variable is set at all (for settings that are refused). */
    String raw(String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? null : v.trim();
    }

    String string(String name, String fallback) {
        String v = raw(name);
        return record(name, fallback, v == null ? fallback : v);
    }

    /** A secret that may be empty (a database password, a partner token). */
    String optionalSecret(String name) {
        String v = raw(name);
        String value = v == null ? "" : v;
        return record(name, "", true, value, mask(value));
    }

    private String required(String name, String what) {
        String v = raw(name);
        if (v == null) {
            problems.add(name + ": is required (" + what + ")");
        }
        return v;
    }

    String secret(String name, int minLength) {
        String v = required(name, "a secret of at least " + minLength + " characters");
        if (v != null && v.length() < minLength) {
            problems.add(name + ": is too short (" + v.length() + " characters, need at least " + minLength + ")");
        }
        return record(name, null, true, v, mask(v));
    }

    List<String> signKeys(String name, int minLength) {
        String v = required(name, "comma-separated Mercuryo Sign Keys; several allowed for rotation");
        List<String> keys = v == null ? List.of() : Arrays.stream(v.split(",", -1)).map(String::trim).toList();
        for (int i = 0; i < keys.size(); i++) {
            if (keys.get(i).isEmpty()) {
                problems.add(name + ": key #" + (i + 1) + " is empty (check for a stray comma)");
            } else if (keys.get(i).length() < minLength) {
                problems.add(name + ": key #" + (i + 1) + " is too short (" + keys.get(i).length()
                        + " characters, need at least " + minLength + ")");
            }
        }
        if (keys.stream().distinct().count() != keys.size()) {
            problems.add(name + ": the same key is listed twice");
        }
        List<String> valid = keys.stream().filter(k -> !k.isEmpty()).toList();
        return record(name, null, true, valid,
                valid.size() + " key(s), " + String.join(", ", valid.stream().map(Settings::mask).toList()));
    }

    /**
     * A comma-separated list of {@code known} names, {@code required} among them. Unlike other
     * settings, set-but-blank is an error: someone meant to list them.
     */
    List<String> signatureVariants(String name, List<String> known, String required) {
        String v = env.get(name);
        List<String> result = List.of(required);
        if (v != null && v.isBlank()) {
            problems.add(name + ": is set but empty; list the variants to accept, e.g. raw or raw,whitespace_stripped"
                    + " (or unset it for raw only)");
        } else if (v != null) {
            List<String> names = Arrays.stream(v.split(",", -1)).map(n -> n.trim().toLowerCase(Locale.ROOT)).toList();
            List<String> problemsHere = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i);
                if (n.isEmpty()) {
                    problemsHere.add(name + ": entry #" + (i + 1) + " is empty (check for a stray comma)");
                } else if (!known.contains(n)) {
                    problemsHere.add(name + ": unknown variant '" + abbreviate(n) + "' (known: " + String.join(", ", known) + ")");
                }
            }
            List<String> given = names.stream().filter(n -> !n.isEmpty()).toList();
            if (given.stream().distinct().count() != given.size()) {
                problemsHere.add(name + ": a variant is listed twice");
            }
            if (problemsHere.isEmpty() && !names.contains(required)) {
                problemsHere.add(name + ": must include raw (Mercuryo signs the raw body; whitespace_stripped can only be"
                        + " accepted in addition to it: raw,whitespace_stripped)");
            }
            problems.addAll(problemsHere);
            result = problemsHere.isEmpty() ? names : result;
        }
        return record(name, required, false, result, String.join(",", result));
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    String jdbcUrl(String name) {
        String v = required(name, "a JDBC URL such as jdbc:postgresql://localhost:5432/mercuryo_bridge");
        if (v != null && !v.startsWith("jdbc:postgresql://")) {
            problems.add(name + ": must start with jdbc:postgresql:// (got '" + maskUrl(v) + "')");
        }
        return record(name, null, false, v, maskUrl(v));
    }

    URI httpUrl(String name, String fallback) {
        String v = raw(name) == null ? fallback : raw(name);
        URI uri = URI.create(fallback);
        try {
            URI given = URI.create(v);
            if (!"http".equals(given.getScheme()) && !"https".equals(given.getScheme()) || given.getHost() == null) {
                problems.add(name + ": must be an http(s) URL with a host (got '" + v + "')");
            }
            uri = given;
        } catch (IllegalArgumentException e) {
            problems.add(name + ": is not a valid URL (" + e.getMessage() + ")");
        }
        return record(name, fallback, uri);
    }

    String topic(String name, String fallback) {
        String v = raw(name) == null ? fallback : raw(name);
        if (!v.matches("[A-Za-z0-9._-]{1,249}")) {
            problems.add(name + ": is not a valid Kafka topic name (letters, digits, '.', '_', '-'; got '" + v + "')");
        }
        return record(name, fallback, v);
    }

    /** An optional number; unset means "the broker decides". */
    Short optionalShort(String name, int min, int max) {
        Integer n = raw(name) == null ? null : parse(name, null, v -> inRange(Integer.parseInt(v), min, max), "an integer");
        Short value = n == null ? null : n.shortValue();
        return record(name, "(broker default)", false, value, value == null ? "(broker default)" : value.toString());
    }

    int port(String name, int fallback) {
        return integer(name, fallback, 0, 65_535);
    }

    int integer(String name, int fallback, int min, int max) {
        return record(name, fallback, parse(name, fallback, v -> inRange(Integer.parseInt(v), min, max), "an integer"));
    }

    private static int inRange(int n, int min, int max) {
        if (n < min || n > max) {
            throw new IllegalArgumentException("must be between " + min + " and " + max + " (got " + n + ")");
        }
        return n;
    }

    boolean bool(String name, boolean fallback) {
        return record(name, fallback, parse(name, fallback, v -> switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("must be true or false (got '" + v + "')");
        }, "true or false"));
    }

    String oneOf(String name, String fallback, List<String> allowed) {
        String v = raw(name) == null ? fallback : raw(name);
        if (!allowed.contains(v)) {
            problems.add(name + ": must be one of " + String.join(", ", allowed) + " (got '" + v + "')");
            v = fallback;
        }
        return record(name, fallback, v);
    }

    /** A positive duration. */
    Duration duration(String name, Duration fallback) {
        return record(name, fallback, parse(name, fallback, v -> {
            Duration d = Duration.parse(v);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("must be positive (got " + v + ")");
            }
            return d;
        }, "an ISO-8601 duration such as PT5M or PT30S"));
    }

    /** A duration that may be zero. */
    Duration durationOrZero(String name, Duration fallback) {
        return record(name, fallback, parse(name, fallback, v -> {
            Duration d = Duration.parse(v);
            if (d.isNegative()) {
                throw new IllegalArgumentException("must not be negative (got " + v + ")");
            }
            return d;
        }, "an ISO-8601 duration such as PT10M (PT0S allowed)"));
    }

    private <T> T parse(String name, T fallback, Function<String, T> parser, String expected) {
        String v = raw(name);
        if (v == null) {
            return fallback;
        }
        try {
            return parser.apply(v);
        } catch (NumberFormatException | DateTimeParseException e) {
            problems.add(name + ": must be " + expected + " (got '" + v + "')");
        } catch (IllegalArgumentException e) {
            problems.add(name + ": " + e.getMessage());
        }
        return fallback;
    }

    /** A JDBC URL may carry a password parameter; it never reaches a log. */
    static String maskUrl(String url) {
        return url == null ? null : url.replaceAll("(?i)password=[^&]*", "password=***");
    }

    static String mask(String secret) {
        return secret == null || secret.isEmpty() ? "(empty)" : "***(" + secret.length() + " chars)";
    }
}
