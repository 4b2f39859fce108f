package dev.mercuryobridge.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

class ConfigTest {

    private static final String ADMIN_TOKEN = "admin-token-0123456789-secret";
    private static final String KEY_A = "sign-key-aaaaaaaaaaaaaaaa";
    private static final String KEY_B = "sign-key-bbbbbbbbbbbbbbbb";
    private static final String DB_PASSWORD = "db-password-s3cr3t";
    private static final String PARTNER_TOKEN = "partner-token-zzzzzzzz";

    /** The required variables, valid; everything else left to its default. */
    static Map<String, String> validEnv() {
        Map<String, String> env = new HashMap<>();
        env.put("ADMIN_TOKEN", ADMIN_TOKEN);
        env.put("MERCURYO_SIGN_KEYS", KEY_A + "," + KEY_B);
        env.put("DATABASE_URL", "jdbc:postgresql://localhost:5432/mercuryo_bridge");
        env.put("DATABASE_PASSWORD", DB_PASSWORD);
        return env;
    }

    private static Map<String, String> validEnvWith(String name, String value) {
        Map<String, String> env = validEnv();
        env.put(name, value);
        return env;
    }

    private static Map<String, String> validEnvWithout(String name) {
        Map<String, String> env = validEnv();
        env.remove(name);
        return env;
    }

    private static void assertRejected(Map<String, String> env, String... messageParts) {
        assertThatThrownBy(() -> Config.fromEnvironment(env))
                .isInstanceOf(ConfigException.class)
                .hasMessageContainingAll(messageParts);
    }

    @Test
    void complete_environment_parses_with_defaults() {
        Config config = Config.fromEnvironment(validEnv());

        assertThat(config.httpPort()).isEqualTo(8080);
        assertThat(config.adminPort()).isEqualTo(8081);
        assertThat(config.adminToken()).isEqualTo(ADMIN_TOKEN);
        assertThat(config.signKeys()).containsExactly(KEY_A, KEY_B);
        assertThat(config.databaseUrl()).isEqualTo("jdbc:postgresql://localhost:5432/mercuryo_bridge");
        assertThat(config.databaseUser()).isEqualTo("postgres");
        assertThat(config.databasePassword()).isEqualTo(DB_PASSWORD);
        assertThat(config.databasePoolSize()).isEqualTo(10);
        assertThat(config.databaseConnectTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.kafkaBootstrapServers()).isEqualTo("localhost:9092");
        assertThat(config.mercuryoApiBaseUrl()).isEqualTo(URI.create("https://sandbox-api.mrcr.io"));
        assertThat(config.mercuryoPartnerToken()).isEmpty();
        assertThat(config.maxBodyBytes()).isEqualTo(262_144);
        assertThat(config.reconcileInterval()).isEqualTo(Duration.parse("PT5M"));
        assertThat(config.reconcileGracePeriod()).isEqualTo(Duration.parse("PT10M"));
        assertThat(config.migrateOnStart()).isTrue();
        assertThat(config.shutdownTimeout()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void explicit_values_override_the_defaults() {
        Map<String, String> env = validEnv();
        env.put("HTTP_PORT", " 9000 ");
        env.put("ADMIN_PORT", "9001");
        env.put("MAX_BODY_BYTES", "1024");
        env.put("RECONCILE_INTERVAL", "PT30S");
        env.put("RECONCILE_GRACE_PERIOD", "PT1H");
        env.put("MIGRATE_ON_START", "FALSE");
        env.put("MERCURYO_API_BASE_URL", "https://api.mercuryo.io");

        Config config = Config.fromEnvironment(env);

        assertThat(config.httpPort()).isEqualTo(9000);
        assertThat(config.adminPort()).isEqualTo(9001);
        assertThat(config.maxBodyBytes()).isEqualTo(1024);
        assertThat(config.reconcileInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.reconcileGracePeriod()).isEqualTo(Duration.ofHours(1));
        assertThat(config.migrateOnStart()).isFalse();
        assertThat(config.mercuryoApiBaseUrl()).isEqualTo(URI.create("https://api.mercuryo.io"));
    }

    @Test
    void sign_keys_are_trimmed_and_a_single_key_is_allowed() {
        Config config = Config.fromEnvironment(validEnvWith("MERCURYO_SIGN_KEYS", "  " + KEY_A + "  "));

        assertThat(config.signKeys()).containsExactly(KEY_A);
    }

    @Test
    void blank_values_count_as_unset() {
        Config config = Config.fromEnvironment(validEnvWith("HTTP_PORT", "   "));

        assertThat(config.httpPort()).isEqualTo(8080);
    }

    @Test
    void port_zero_for_both_ports_is_allowed() {
        Map<String, String> env = validEnv();
        env.put("HTTP_PORT", "0");
        env.put("ADMIN_PORT", "0");

        Config config = Config.fromEnvironment(env);

        assertThat(config.httpPort()).isZero();
        assertThat(config.adminPort()).isZero();
    }

    @ParameterizedTest(name = "missing {0}")
    @ValueSource(strings = {"ADMIN_TOKEN", "MERCURYO_SIGN_KEYS", "DATABASE_URL"})
    void missing_required_variable_is_named(String name) {
        assertRejected(validEnvWithout(name), name + ": is required");
    }

    @ParameterizedTest(name = "blank {0}")
    @ValueSource(strings = {"ADMIN_TOKEN", "MERCURYO_SIGN_KEYS", "DATABASE_URL"})
    void blank_required_variable_is_named(String name) {
        assertRejected(validEnvWith(name, "  "), name + ": is required");
    }

    @Test
    void short_admin_token_is_rejected() {
        assertRejected(validEnvWith("ADMIN_TOKEN", "short"), "ADMIN_TOKEN: is too short (5 characters, need at least 16)");
    }

    @Test
    void http_port_that_is_not_a_number_is_rejected() {
        assertRejected(validEnvWith("HTTP_PORT", "abc"), "HTTP_PORT: must be an integer (got 'abc')");
    }

    @Test
    void http_port_above_65535_is_rejected() {
        assertRejected(validEnvWith("HTTP_PORT", "70000"), "HTTP_PORT", "between 0 and 65535", "70000");
    }

    @Test
    void negative_port_is_rejected() {
        assertRejected(validEnvWith("ADMIN_PORT", "-1"), "ADMIN_PORT", "between 0 and 65535");
    }

    @Test
    void reconcile_interval_in_words_is_rejected() {
        assertRejected(validEnvWith("RECONCILE_INTERVAL", "5 minutes"), "RECONCILE_INTERVAL", "ISO-8601 duration", "'5 minutes'");
    }

    @ParameterizedTest(name = "RECONCILE_INTERVAL {0}")
    @ValueSource(strings = {"PT0S", "-PT5M"})
    void zero_or_negative_interval_is_rejected(String value) {
        assertRejected(validEnvWith("RECONCILE_INTERVAL", value), "RECONCILE_INTERVAL: must be positive");
    }

    @Test
    void negative_grace_period_is_rejected_but_zero_means_ask_at_once() {
        assertRejected(validEnvWith("RECONCILE_GRACE_PERIOD", "-PT5M"), "RECONCILE_GRACE_PERIOD: must not be negative");
        assertThat(Config.fromEnvironment(validEnvWith("RECONCILE_GRACE_PERIOD", "PT0S")).reconcileGracePeriod())
                .isEqualTo(java.time.Duration.ZERO);
    }

    @Test
    void a_placeholder_user_ip_is_refused_at_start_with_what_to_do_instead() {
        // Any value, even a valid address: a placeholder B2B-User-Ip is never the user's real IP.
        assertRejected(validEnvWith("MERCURYO_DEFAULT_USER_IP", "127.0.0.1"), "MERCURYO_DEFAULT_USER_IP");
        assertThatThrownBy(() -> Config.fromEnvironment(validEnvWith("MERCURYO_DEFAULT_USER_IP", "2001:db8::1")))
                .hasMessageContaining("PUT /api/card-users/{uuid}");
    }

    @Test
    void max_body_bytes_too_small_is_rejected() {
        assertRejected(validEnvWith("MAX_BODY_BYTES", "100"), "MAX_BODY_BYTES", "between 1024 and 16777216", "100");
    }

    @Test
    void max_body_bytes_too_large_is_rejected() {
        assertRejected(validEnvWith("MAX_BODY_BYTES", "1000000000"), "MAX_BODY_BYTES", "between 1024 and 16777216");
    }

    @Test
    void database_url_that_is_not_jdbc_postgresql_is_rejected() {
        assertRejected(validEnvWith("DATABASE_URL", "postgres://localhost:5432/mercuryo_bridge"),
                "DATABASE_URL: must start with jdbc:postgresql://");
        assertRejected(validEnvWith("DATABASE_URL", "jdbc:mysql://localhost/db"), "DATABASE_URL: must start with jdbc:postgresql://");
    }

    @Test
    void rejected_database_url_does_not_echo_its_password() {
        Map<String, String> env = validEnvWith("DATABASE_URL", "postgres://localhost/db?user=u&password=" + DB_PASSWORD);

        assertThatThrownBy(() -> Config.fromEnvironment(env))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("DATABASE_URL")
                .hasMessageNotContaining(DB_PASSWORD);
    }

    @Test
    void sign_key_list_with_an_empty_entry_in_the_middle_is_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGN_KEYS", KEY_A + ",," + KEY_B), "MERCURYO_SIGN_KEYS: key #2 is empty");
    }

    @Test
    void sign_key_list_with_a_leading_comma_is_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGN_KEYS", "," + KEY_A), "MERCURYO_SIGN_KEYS: key #1 is empty");
    }

    @Test
    void sign_key_list_with_a_trailing_comma_is_rejected() {
        // String.split drops trailing empty strings, so "key," must still be caught as a stray comma.
        assertRejected(validEnvWith("MERCURYO_SIGN_KEYS", KEY_A + ","), "MERCURYO_SIGN_KEYS: key #2 is empty");
    }

    @Test
    void short_sign_key_is_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGN_KEYS", KEY_A + ",short"), "MERCURYO_SIGN_KEYS: key #2 is too short (5 characters");
    }

    @Test
    void duplicate_sign_keys_are_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGN_KEYS", KEY_A + "," + KEY_B + ", " + KEY_A), "MERCURYO_SIGN_KEYS: the same key is listed twice");
    }

    @Test
    void admin_port_equal_to_http_port_is_rejected() {
        Map<String, String> env = validEnv();
        env.put("HTTP_PORT", "9000");
        env.put("ADMIN_PORT", "9000");

        assertRejected(env, "ADMIN_PORT: must differ from HTTP_PORT (both are 9000)");
    }

    @Test
    void admin_port_default_equal_to_http_port_is_rejected() {
        assertRejected(validEnvWith("HTTP_PORT", "8081"), "ADMIN_PORT: must differ from HTTP_PORT");
    }

    @Test
    void invalid_boolean_is_rejected() {
        assertRejected(validEnvWith("MIGRATE_ON_START", "yes"), "MIGRATE_ON_START: must be true or false (got 'yes')");
    }

    @Test
    void api_base_url_without_http_scheme_is_rejected() {
        assertRejected(validEnvWith("MERCURYO_API_BASE_URL", "ftp://api.mercuryo.io"), "MERCURYO_API_BASE_URL: must be an http(s) URL");
    }

    @Test
    void several_problems_are_reported_together() {
        Map<String, String> env = new HashMap<>();
        env.put("HTTP_PORT", "abc");
        env.put("RECONCILE_INTERVAL", "5 minutes");
        env.put("MAX_BODY_BYTES", "10");

        Throwable thrown = catchThrowable(() -> Config.fromEnvironment(env));

        assertThat(thrown)
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid configuration:")
                .hasMessageContainingAll(
                        "ADMIN_TOKEN: is required",
                        "MERCURYO_SIGN_KEYS: is required",
                        "DATABASE_URL: is required",
                        "HTTP_PORT: must be an integer",
                        "RECONCILE_INTERVAL: must be an ISO-8601 duration",
                        "MAX_BODY_BYTES: must be between");
        assertThat(thrown.getMessage().lines().filter(line -> line.startsWith("  - "))).hasSize(6);
    }

    @Test
    void masked_and_to_string_never_contain_secrets() {
        Map<String, String> env = validEnv();
        env.put("MERCURYO_PARTNER_TOKEN", PARTNER_TOKEN);
        Config config = Config.fromEnvironment(env);

        Map<String, String> masked = config.masked();
        String all = String.join("\n", masked.values()) + "\n" + config;

        for (String secret : List.of(ADMIN_TOKEN, KEY_A, KEY_B, DB_PASSWORD, PARTNER_TOKEN)) {
            assertThat(all).doesNotContain(secret);
        }
        assertThat(masked.get("ADMIN_TOKEN")).isEqualTo("***(" + ADMIN_TOKEN.length() + " chars)");
        assertThat(masked.get("MERCURYO_SIGN_KEYS")).startsWith("2 key(s)");
        assertThat(masked.get("DATABASE_PASSWORD")).isEqualTo("***(" + DB_PASSWORD.length() + " chars)");
        assertThat(masked.get("HTTP_PORT")).isEqualTo("8080");
        assertThat(masked.get("DATABASE_URL")).isEqualTo("jdbc:postgresql://localhost:5432/mercuryo_bridge");
        assertThat(config.toString()).startsWith("Config{");
    }

    @Test
    void masked_database_url_hides_a_password_given_in_the_url() {
        Map<String, String> env = validEnvWith("DATABASE_URL",
                "jdbc:postgresql://db:5432/mercuryo_bridge?user=bridge&password=" + DB_PASSWORD + "&ssl=true");
        Config config = Config.fromEnvironment(env);

        assertThat(config.masked().get("DATABASE_URL")).doesNotContain(DB_PASSWORD).contains("jdbc:postgresql://db:5432/mercuryo_bridge");
        assertThat(config.toString()).doesNotContain(DB_PASSWORD);
    }

    @Test
    void masked_empty_secrets_say_empty() {
        Config config = Config.fromEnvironment(validEnvWithout("DATABASE_PASSWORD"));

        assertThat(config.databasePassword()).isEmpty();
        assertThat(config.masked().get("DATABASE_PASSWORD")).isEqualTo("(empty)");
        assertThat(config.masked().get("MERCURYO_PARTNER_TOKEN")).isEqualTo("(empty)");
    }

    @Test
    void signature_variants_default_to_raw_only() {
        assertThat(Config.fromEnvironment(validEnv()).signatureVariants()).containsExactly("raw");
    }

    @Test
    void raw_and_whitespace_stripped_turn_the_stripped_variant_on() {
        Config config = Config.fromEnvironment(validEnvWith("MERCURYO_SIGNATURE_VARIANTS", " raw , WHITESPACE_STRIPPED "));

        assertThat(config.signatureVariants()).containsExactly("raw", "whitespace_stripped");
        assertThat(config.masked()).containsEntry("MERCURYO_SIGNATURE_VARIANTS", "raw,whitespace_stripped");
    }

    @Test
    void unknown_signature_variant_is_rejected_with_the_known_names() {
        assertRejected(validEnvWith("MERCURYO_SIGNATURE_VARIANTS", "raw,stripped"),
                "MERCURYO_SIGNATURE_VARIANTS: unknown variant 'stripped'", "raw, whitespace_stripped");
    }

    @Test
    void signature_variants_set_but_empty_are_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGNATURE_VARIANTS", "  "), "MERCURYO_SIGNATURE_VARIANTS: is set but empty");
    }

    @Test
    void signature_variants_with_a_stray_comma_are_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGNATURE_VARIANTS", "raw,"), "MERCURYO_SIGNATURE_VARIANTS: entry #2 is empty");
    }

    @Test
    void signature_variants_without_raw_are_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGNATURE_VARIANTS", "whitespace_stripped"),
                "MERCURYO_SIGNATURE_VARIANTS: must include raw");
    }

    @Test
    void a_signature_variant_listed_twice_is_rejected() {
        assertRejected(validEnvWith("MERCURYO_SIGNATURE_VARIANTS", "raw,raw"), "MERCURYO_SIGNATURE_VARIANTS: a variant is listed twice");
    }

    @Test
    void every_setting_has_a_row_with_its_default_in_the_readme_configuration_table() throws Exception {
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
        String table = readme.substring(readme.indexOf("## Configuration"), readme.indexOf("## Production"));

        List<Settings.Setting> settings = Config.settings();
        assertThat(settings.stream().map(Settings.Setting::name))
                .containsExactlyElementsOf(Config.fromEnvironment(validEnv()).masked().keySet());
        for (Settings.Setting s : settings) {
            String row = table.lines().filter(l -> l.matches("\\| `" + s.name() + "`.*") || l.contains("/ `" + s.name() + "` |"))
                    .findFirst().orElseThrow(() -> new AssertionError(s.name() + " has no row in the README's table"));
            String defaultColumn = row.split("\\|")[2];
            if (s.defaultValue() == null) {
                assertThat(defaultColumn).as(s.name()).contains("required");
            } else if (s.defaultValue().isEmpty()) {
                assertThat(defaultColumn).as(s.name()).contains("empty");
            } else if (s.defaultValue().startsWith("(")) {
                assertThat(defaultColumn).as(s.name()).contains(s.defaultValue().replaceAll("[()]", ""));
            } else if (s.defaultValue().startsWith("P")) {
                // A duration may be written either way (P7D is PT168H).
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("`(P[^`]+)`").matcher(defaultColumn);
                assertThat(m.find()).as(s.name()).isTrue();
                assertThat(java.time.Duration.parse(m.group(1))).as(s.name()).isEqualTo(java.time.Duration.parse(s.defaultValue()));
            } else {
                assertThat(defaultColumn).as(s.name()).contains("`" + s.defaultValue() + "`");
            }
        }
    }
}
