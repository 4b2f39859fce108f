package dev.mercuryobridge.config;

import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
        String logFormat,
        Map<String, String> masked) {

    /** Kafka topic names (configurable so that environments can share a cluster). */
    public record Topics(String transactions, String spendCard, String reconciliation) {}

    static final int MIN_ADMIN_TOKEN_LENGTH = 16;
    static final int MIN_SIGN_KEY_LENGTH = 16;

    /**
     * Signature variants an operator may enable. {@code raw} is what Mercuryo signs and is always
     * on; {@code whitespace_stripped} (one Mercuryo page: HMAC of the body with all whitespace
     * removed) cannot protect whitespace inside strings, so it is off unless listed.
     */
    static final List<String> SIGNATURE_VARIANTS = List.of("raw", "whitespace_stripped");

    public Config {
        signKeys = List.copyOf(signKeys);
        signatureVariants = List.copyOf(signatureVariants);
        masked = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(masked));
    }

    /**
     * Every setting the service reads, in order, with its default and whether it is secret: the
     * same definitions that parse and mask (the README's table is checked against this list).
     */
    static List<Settings.Setting> settings() {
        Settings r = new Settings(Map.of());
        read(r);
        return r.all();
    }

    /** Reads and validates the configuration; throws {@link ConfigException} listing every problem. */
    public static Config fromEnvironment(Map<String, String> env) {
        Settings r = new Settings(env);
        Config config = read(r);
        check(config, r);
        if (!r.problems.isEmpty()) {
            throw new ConfigException("Invalid configuration:\n  - " + String.join("\n  - ", r.problems));
        }
        return config;
    }

    /** Each setting, once: name, default, parser and bounds, secret or not (see {@link Settings}). */
    private static Config read(Settings r) {
        return new Config(
                r.port("HTTP_PORT", 8080),
                r.port("ADMIN_PORT", 8081),
                r.secret("ADMIN_TOKEN", MIN_ADMIN_TOKEN_LENGTH),
                r.signKeys("MERCURYO_SIGN_KEYS", MIN_SIGN_KEY_LENGTH),
                r.signatureVariants("MERCURYO_SIGNATURE_VARIANTS", SIGNATURE_VARIANTS, "raw"),
                databaseUrl(r),
                databaseUser(r),
                databasePassword(r),
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
                r.optionalSecret("MERCURYO_PARTNER_TOKEN"),
                r.duration("MERCURYO_API_TIMEOUT", Duration.ofSeconds(10)),
                r.duration("RECONCILE_INTERVAL", Duration.ofMinutes(5)),
                r.durationOrZero("RECONCILE_GRACE_PERIOD", Duration.ofMinutes(10)),
                r.integer("RECONCILE_CONCURRENCY", 4, 1, 64),
                r.integer("MAX_BODY_BYTES", 262_144, 1_024, 16 * 1024 * 1024),
                r.bool("MIGRATE_ON_START", true),
                reportMaxDays(r),
                r.duration("OUTBOX_RETENTION", Duration.ofDays(7)),
                r.duration("SHUTDOWN_TIMEOUT", Duration.ofSeconds(20)),
                r.integer("INGEST_QUEUE_CAPACITY", 4_096, 1, 1_000_000),
                r.integer("INGEST_BATCH_SIZE", 256, 1, 10_000),
                r.durationOrZero("INGEST_BATCH_LINGER", Duration.ofMillis(1)),
                r.integer("INGEST_WRITERS", 2, 1, 64),
                r.oneOf("LOG_FORMAT", "text", List.of("text", "json")),
                r.masked());
    }

    // Settings the one-off commands read too, with the same definitions.
    private static String databaseUrl(Settings r) {
        return r.jdbcUrl("DATABASE_URL");
    }

    private static String databaseUser(Settings r) {
        return r.string("DATABASE_USER", "postgres");
    }

    private static String databasePassword(Settings r) {
        return r.optionalSecret("DATABASE_PASSWORD");
    }

    private static int reportMaxDays(Settings r) {
        return r.integer("REPORT_MAX_DAYS", 366, 1, 100_000);
    }

    /** What the one-off commands ({@code migrate}, {@code report}) need; they run without the service's secrets. */
    public record ForCommands(String databaseUrl, String databaseUser, String databasePassword, int reportMaxDays) {}

    /** Reads {@link ForCommands} with the service's own definitions; throws {@link ConfigException} listing every problem. */
    public static ForCommands forCommands(Map<String, String> env) {
        Settings r = new Settings(env);
        ForCommands settings = new ForCommands(databaseUrl(r), databaseUser(r), databasePassword(r), reportMaxDays(r));
        if (!r.problems.isEmpty()) {
            throw new ConfigException("Invalid configuration:\n  - " + String.join("\n  - ", r.problems));
        }
        return settings;
    }

    /** What no single setting can check: how they fit together, and settings that are refused. */
    private static void check(Config config, Settings r) {
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
    }

    @Override
    public String toString() {
        return "Config" + masked();
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

}
