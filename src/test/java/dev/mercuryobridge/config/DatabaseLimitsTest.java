package dev.mercuryobridge.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatabaseLimitsTest {

    private static Config parse(Map<String, String> overrides) {
        Map<String, String> env = ConfigTest.validEnv();
        env.putAll(overrides);
        return Config.fromEnvironment(env);
    }

    @Test
    void defaults_are_tight_for_callbacks_and_long_for_reports() {
        DatabaseLimits limits = parse(Map.of()).databaseLimits();

        assertThat(limits).isEqualTo(new DatabaseLimits(Duration.ofSeconds(2), Duration.ofSeconds(5), 5,
                Duration.ofMinutes(5), 3, Duration.ofMillis(500)));
    }

    @Test
    void every_limit_is_read_from_its_variable() {
        DatabaseLimits limits = parse(Map.of("DATABASE_LOCK_TIMEOUT", "PT3S", "DATABASE_STATEMENT_TIMEOUT", "PT10S",
                "DATABASE_REPORTS_POOL_SIZE", "8", "DATABASE_REPORTS_STATEMENT_TIMEOUT", "PT30M",
                "CALLBACK_PARTITIONS_AHEAD", "6", "CALLBACK_PARTITION_DDL_TIMEOUT", "PT1S")).databaseLimits();

        assertThat(limits).isEqualTo(new DatabaseLimits(Duration.ofSeconds(3), Duration.ofSeconds(10), 8,
                Duration.ofMinutes(30), 6, Duration.ofSeconds(1)));
    }

    @Test
    void a_partition_ddl_that_could_outwait_the_callbacks_is_refused() {
        assertThatThrownBy(() -> parse(Map.of("DATABASE_LOCK_TIMEOUT", "PT1S", "CALLBACK_PARTITION_DDL_TIMEOUT", "PT1S")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("CALLBACK_PARTITION_DDL_TIMEOUT: must be less than DATABASE_LOCK_TIMEOUT");
    }

    @Test
    void limits_postgresql_would_read_as_none_or_absurd_are_refused_each_by_name() {
        assertThatThrownBy(() -> parse(Map.of("DATABASE_STATEMENT_TIMEOUT", "PT0.0001S", "DATABASE_REPORTS_STATEMENT_TIMEOUT",
                "P2D", "DATABASE_LOCK_TIMEOUT", "PT0S", "DATABASE_REPORTS_POOL_SIZE", "0", "CALLBACK_PARTITIONS_AHEAD", "25")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContainingAll("DATABASE_STATEMENT_TIMEOUT: must be between PT0.001S and PT24H",
                        "DATABASE_REPORTS_STATEMENT_TIMEOUT: must be between PT0.001S and PT24H",
                        "DATABASE_LOCK_TIMEOUT: must be positive",
                        "DATABASE_REPORTS_POOL_SIZE: must be between 1 and 200",
                        "CALLBACK_PARTITIONS_AHEAD: must be between 1 and 24");
    }
}
