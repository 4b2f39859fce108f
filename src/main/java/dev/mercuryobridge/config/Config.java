package dev.mercuryobridge.config;

import java.net.URI;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The whole configuration, read from the environment once and validated at start. Every problem
 * is reported at once, each naming its variable, so a bad deployment fails fast and clearly.
 */
public record Config(
        int httpPort,
        int adminPort,
        String adminToken,
        List<String> signKeys,
        List<String> signatureVariants,
        String databaseUrl,
        String databaseUser,
        String databasePassword,
        int databasePoolSize,
        Duration databaseConnectTimeout,
        DatabaseLimits databaseLimits,
        String kafkaBootstrapServers,
        Topics topics,
        int kafkaTopicPartitions,
        Short kafkaReplicationFactor,
        URI mercuryoApiBaseUrl,
        String mercuryoPartnerToken,
        Duration mercuryoApiTimeout,
        Duration reconcileInterval,
        Duration reconcileGracePeriod,
        int reconcileConcurrency,
        int maxBodyBytes,
        boolean migrateOnStart,
        int reportMaxDays,
        Duration outboxRetention,
        Duration shutdownTimeout,
        int ingestQueueCapacity,
        int ingestBatchSize,
        Duration ingestBatchLinger,
        int ingestWriters,
        String logFormat) {

    /** Kafka topic names (configurable so that environments can share a cluster). */
    public record Topics(String transactions, String spendCard, String reconciliation) {}

    public static final int MIN_ADMIN_TOKEN_LENGTH = 16;
    public static final int MIN_SIGN_KEY_LENGTH = 16;

    /**
     * Signature variants an operator may enable. {@code raw} is what Mercuryo signs and is always
     * on; {@code whitespace_stripped} (one Mercuryo page: HMAC of the body with all whitespace
     * removed) cannot protect whitespace inside strings, so it is off unless listed.
     */
    public static final List<String> SIGNATURE_VARIANTS = List.of("raw", "whitespace_stripped");

    public Config {
        signKeys = List.copyOf(signKeys);
        signatureVariants = List.copyOf(signatureVariants);
    }

    /** Reads and validates the configuration; throws {@link ConfigException} listing every problem. */
    public static Config fromEnvironment(Map<String, String> env) {
        Reader r = new Reader(env);
        Config config = new Config(
                r.port("HTTP_PORT", 8080),
                r.port("ADMIN_PORT", 8081),
                r.secret("ADMIN_TOKEN", MIN_ADMIN_TOKEN_LENGTH),
                r.signKeys("MERCURYO_SIGN_KEYS"),
                r.signatureVariants("MERCURYO_SIGNATURE_VARIANTS"),
                r.jdbcUrl("DATABASE_URL"),
                r.string("DATABASE_USER", "postgres"),
                r.string("DATABASE_PASSWORD", ""),
                r.integer("DATABASE_POOL_SIZE", 10, 1, 200),
                r.duration("DATABASE_CONNECT_TIMEOUT", Duration.ofSeconds(2)),
                DatabaseLimits.read(r),
                r.string("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
                new Topics(
                        r.topic("KAFKA_TOPIC_TRANSACTIONS", "mercuryo.transactions.v1"),
                        r.topic("KAFKA_TOPIC_SPEND_CARD", "mercuryo.spend-card.v1"),
                        r.topic("KAFKA_TOPIC_RECONCILIATION", "mercuryo.reconciliation.v1")),
                r.integer("KAFKA_TOPIC_PARTITIONS", 6, 1, 1_000),
                r.optionalShort("KAFKA_REPLICATION_FACTOR", 1, 10),
                r.httpUrl("MERCURYO_API_BASE_URL", "https://sandbox-api.mrcr.io"),
                r.string("MERCURYO_PARTNER_TOKEN", ""),
                r.duration("MERCURYO_API_TIMEOUT", Duration.ofSeconds(10)),
                r.duration("RECONCILE_INTERVAL", Duration.ofMinutes(5)),
                r.durationOrZero("RECONCILE_GRACE_PERIOD", Duration.ofMinutes(10)),
                r.integer("RECONCILE_CONCURRENCY", 4, 1, 64),
                r.integer("MAX_BODY_BYTES", 262_144, 1_024, 16 * 1024 * 1024),
                r.bool("MIGRATE_ON_START", true),
                r.integer("REPORT_MAX_DAYS", 366, 1, 100_000),
                r.duration("OUTBOX_RETENTION", Duration.ofDays(7)),
                r.duration("SHUTDOWN_TIMEOUT", Duration.ofSeconds(20)),
                r.integer("INGEST_QUEUE_CAPACITY", 4_096, 1, 1_000_000),
                r.integer("INGEST_BATCH_SIZE", 256, 1, 10_000),
                r.durationOrZero("INGEST_BATCH_LINGER", Duration.ofMillis(1)),
                r.integer("INGEST_WRITERS", 2, 1, 64),
                r.oneOf("LOG_FORMAT", "text", List.of("text", "json")));
        if (config.ingestWriters >= config.databasePoolSize) {
            // Each writer holds a connection for its batch; the admin API, quarantine replays and
            // the relay's marking need the rest (reports and the reconciler have their own pool).
            r.problems.add("INGEST_WRITERS: must be less than DATABASE_POOL_SIZE (" + config.ingestWriters
                    + " writers, pool of " + config.databasePoolSize + ")");
        }
        if (config.ingestQueueCapacity < config.ingestWriters) {
            r.problems.add("INGEST_QUEUE_CAPACITY: must be at least INGEST_WRITERS (" + config.ingestQueueCapacity
                    + " < " + config.ingestWriters + ")");
        }
        if (config.ingestBatchLinger.compareTo(Duration.ofSeconds(1)) > 0) {
            r.problems.add("INGEST_BATCH_LINGER: must be at most PT1S (every callback waits up to it; got "
                    + config.ingestBatchLinger + ")");
        }
        if (new java.util.HashSet<>(List.of(config.topics.transactions(), config.topics.spendCard(),
                config.topics.reconciliation())).size() < 3) {
            r.problems.add("KAFKA_TOPIC_*: the three topics must have different names");
        }
        if (r.raw("MERCURYO_DEFAULT_USER_IP") != null) {
            // A placeholder B2B-User-Ip misleads Mercuryo's antifraud (403020) on the user's behalf.
            r.problems.add("MERCURYO_DEFAULT_USER_IP: is no longer supported; register each card user's real IP with"
                    + " PUT /api/card-users/{uuid} (users without one are listed on each run, not polled)");
        }
        if (config.httpPort != 0 && config.httpPort == config.adminPort) {
            r.problems.add("ADMIN_PORT: must differ from HTTP_PORT (both are " + config.httpPort + ")");
        }
        if (!r.problems.isEmpty()) {
            throw new ConfigException("Invalid configuration:\n  - " + String.join("\n  - ", r.problems));
        }
        return config;
    }

    /** The configuration for logs: secrets replaced by their length. */
    public Map<String, String> masked() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("HTTP_PORT", String.valueOf(httpPort));
        m.put("ADMIN_PORT", String.valueOf(adminPort));
        m.put("ADMIN_TOKEN", mask(adminToken));
        m.put("MERCURYO_SIGN_KEYS", signKeys.size() + " key(s), " + String.join(", ", signKeys.stream().map(Config::mask).toList()));
        m.put("MERCURYO_SIGNATURE_VARIANTS", String.join(",", signatureVariants));
        m.put("DATABASE_URL", maskUrl(databaseUrl));
        m.put("DATABASE_USER", databaseUser);
        m.put("DATABASE_PASSWORD", mask(databasePassword));
        m.put("DATABASE_POOL_SIZE", String.valueOf(databasePoolSize));
        m.put("DATABASE_CONNECT_TIMEOUT", databaseConnectTimeout.toString());
        m.putAll(databaseLimits.masked());
        m.put("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers);
        m.put("KAFKA_TOPIC_TRANSACTIONS", topics.transactions());
        m.put("KAFKA_TOPIC_SPEND_CARD", topics.spendCard());
        m.put("KAFKA_TOPIC_RECONCILIATION", topics.reconciliation());
        m.put("KAFKA_TOPIC_PARTITIONS", String.valueOf(kafkaTopicPartitions));
        m.put("KAFKA_REPLICATION_FACTOR", kafkaReplicationFactor == null ? "(broker default)" : kafkaReplicationFactor.toString());
        m.put("MERCURYO_API_BASE_URL", mercuryoApiBaseUrl.toString());
        m.put("MERCURYO_PARTNER_TOKEN", mask(mercuryoPartnerToken));
        m.put("MERCURYO_API_TIMEOUT", mercuryoApiTimeout.toString());
        m.put("RECONCILE_INTERVAL", reconcileInterval.toString());
        m.put("RECONCILE_GRACE_PERIOD", reconcileGracePeriod.toString());
        m.put("RECONCILE_CONCURRENCY", String.valueOf(reconcileConcurrency));
        m.put("MAX_BODY_BYTES", String.valueOf(maxBodyBytes));
        m.put("MIGRATE_ON_START", String.valueOf(migrateOnStart));
        m.put("REPORT_MAX_DAYS", String.valueOf(reportMaxDays));
        m.put("OUTBOX_RETENTION", outboxRetention.toString());
        m.put("SHUTDOWN_TIMEOUT", shutdownTimeout.toString());
        m.put("INGEST_QUEUE_CAPACITY", String.valueOf(ingestQueueCapacity));
        m.put("INGEST_BATCH_SIZE", String.valueOf(ingestBatchSize));
        m.put("INGEST_BATCH_LINGER", ingestBatchLinger.toString());
        m.put("INGEST_WRITERS", String.valueOf(ingestWriters));
        m.put("LOG_FORMAT", logFormat);
        return m;
    }

    @Override
    public String toString() {
        return "Config" + masked();
    }

    /** A JDBC URL may carry a password parameter; it never reaches a log. */
    static String maskUrl(String url) {
        return url == null ? null : url.replaceAll("(?i)password=[^&]*", "password=***");
    }

    /** An IPv4 or IPv6 literal (never resolved through DNS). */
    public static boolean isIpLiteral(String v) {
        if (v == null || v.isEmpty() || v.length() > 45) {
            return false;
        }
        if (v.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            return java.util.Arrays.stream(v.split("\\.")).allMatch(p -> Integer.parseInt(p) <= 255);
        }
        if (v.contains(":") && v.matches("[0-9A-Fa-f:.]+")) {
            try {
                return java.net.InetAddress.getByName(v) instanceof java.net.Inet6Address;
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    static String mask(String secret) {
        return secret == null || secret.isEmpty() ? "(empty)" : "***(" + secret.length() + " chars)";
    }

    /** Collects problems instead of stopping at the first, so one start shows all of them. */
    static final class Reader {
        private final Map<String, String> env;
        final List<String> problems = new ArrayList<>();

        Reader(Map<String, String> env) {
            this.env = env;
        }

        private String raw(String name) {
            String v = env.get(name);
            return v == null || v.isBlank() ? null : v.trim();
        }

        String string(String name, String fallback) {
            String v = raw(name);
            return v == null ? fallback : v;
        }

        String required(String name, String what) {
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
            return v;
        }

        List<String> signKeys(String name) {
            String v = required(name, "comma-separated Mercuryo Sign Keys; several allowed for rotation");
            if (v == null) {
                return List.of();
            }
            List<String> keys = Arrays.stream(v.split(",", -1)).map(String::trim).toList();
            for (int i = 0; i < keys.size(); i++) {
                if (keys.get(i).isEmpty()) {
                    problems.add(name + ": key #" + (i + 1) + " is empty (check for a stray comma)");
                } else if (keys.get(i).length() < MIN_SIGN_KEY_LENGTH) {
                    problems.add(name + ": key #" + (i + 1) + " is too short (" + keys.get(i).length()
                            + " characters, need at least " + MIN_SIGN_KEY_LENGTH + ")");
                }
            }
            if (keys.stream().distinct().count() != keys.size()) {
                problems.add(name + ": the same key is listed twice");
            }
            return keys.stream().filter(k -> !k.isEmpty()).toList();
        }

        /**
         * A comma-separated list of {@link #SIGNATURE_VARIANTS}, {@code raw} first among them.
         * Unlike other settings, set-but-blank is an error: someone meant to list variants.
         */
        List<String> signatureVariants(String name) {
            String v = env.get(name);
            if (v == null) {
                return List.of("raw");
            }
            if (v.isBlank()) {
                problems.add(name + ": is set but empty; list the variants to accept, e.g. raw or raw,whitespace_stripped"
                        + " (or unset it for raw only)");
                return List.of("raw");
            }
            List<String> names = Arrays.stream(v.split(",", -1)).map(n -> n.trim().toLowerCase(java.util.Locale.ROOT)).toList();
            List<String> problemsHere = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i);
                if (n.isEmpty()) {
                    problemsHere.add(name + ": entry #" + (i + 1) + " is empty (check for a stray comma)");
                } else if (!SIGNATURE_VARIANTS.contains(n)) {
                    problemsHere.add(name + ": unknown variant '" + abbreviate(n) + "' (known: " + String.join(", ", SIGNATURE_VARIANTS) + ")");
                }
            }
            if (names.stream().filter(n -> !n.isEmpty()).distinct().count() != names.stream().filter(n -> !n.isEmpty()).count()) {
                problemsHere.add(name + ": a variant is listed twice");
            }
            if (problemsHere.isEmpty() && !names.contains("raw")) {
                problemsHere.add(name + ": must include raw (Mercuryo signs the raw body; whitespace_stripped can only be"
                        + " accepted in addition to it: raw,whitespace_stripped)");
            }
            problems.addAll(problemsHere);
            return problemsHere.isEmpty() ? names : List.of("raw");
        }

        private static String abbreviate(String s) {
            return s.length() <= 40 ? s : s.substring(0, 40) + "…";
        }

        String jdbcUrl(String name) {
            String v = required(name, "a JDBC URL such as jdbc:postgresql://localhost:5432/mercuryo_bridge");
            if (v != null && !v.startsWith("jdbc:postgresql://")) {
                problems.add(name + ": must start with jdbc:postgresql:// (got '" + maskUrl(v) + "')");
            }
            return v;
        }

        URI httpUrl(String name, String fallback) {
            String v = string(name, fallback);
            try {
                URI uri = URI.create(v);
                if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                    problems.add(name + ": must be an http(s) URL with a host (got '" + v + "')");
                }
                return uri;
            } catch (IllegalArgumentException e) {
                problems.add(name + ": is not a valid URL (" + e.getMessage() + ")");
                return URI.create(fallback);
            }
        }

        String topic(String name, String fallback) {
            String v = string(name, fallback);
            if (!v.matches("[A-Za-z0-9._-]{1,249}")) {
                problems.add(name + ": is not a valid Kafka topic name (letters, digits, '.', '_', '-'; got '" + v + "')");
            }
            return v;
        }

        Short optionalShort(String name, int min, int max) {
            if (raw(name) == null) {
                return null;
            }
            return (short) integer(name, min, min, max);
        }

        int port(String name, int fallback) {
            return integer(name, fallback, 0, 65_535);
        }

        int integer(String name, int fallback, int min, int max) {
            return parse(name, fallback, v -> {
                int n = Integer.parseInt(v);
                if (n < min || n > max) {
                    throw new IllegalArgumentException("must be between " + min + " and " + max + " (got " + n + ")");
                }
                return n;
            }, "an integer");
        }

        boolean bool(String name, boolean fallback) {
            return parse(name, fallback, v -> switch (v.toLowerCase()) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException("must be true or false (got '" + v + "')");
            }, "true or false");
        }

        Duration durationOrZero(String name, Duration fallback) {
            return parse(name, fallback, v -> {
                Duration d = Duration.parse(v);
                if (d.isNegative()) {
                    throw new IllegalArgumentException("must not be negative (got " + v + ")");
                }
                return d;
            }, "an ISO-8601 duration such as PT10M (PT0S allowed)");
        }

        String oneOf(String name, String fallback, List<String> allowed) {
            String v = string(name, fallback);
            if (!allowed.contains(v)) {
                problems.add(name + ": must be one of " + String.join(", ", allowed) + " (got '" + v + "')");
                return fallback;
            }
            return v;
        }

        Duration duration(String name, Duration fallback) {
            return parse(name, fallback, v -> {
                Duration d = Duration.parse(v);
                if (d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException("must be positive (got " + v + ")");
                }
                return d;
            }, "an ISO-8601 duration such as PT5M or PT30S");
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
    }
}
