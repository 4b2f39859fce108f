package dev.mercuryobridge.http;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class HealthTest {

    @Test
    void a_check_that_throws_is_down_and_its_exception_text_is_not_in_the_answer() {
        Health health = new Health(Clock.systemUTC())
                .add("database", () -> {
                    throw new IllegalStateException("Connection to db.internal.example:5432 refused, password=hunter2");
                })
                .add("kafka", () -> Health.Check.up("1 broker(s) reachable"));

        Map<String, Health.Check> results = health.run();

        assertThat(results.get("database").status()).isEqualTo(Health.Status.DOWN);
        assertThat(results.get("database").detail())
                .doesNotContain("db.internal").doesNotContain("5432").doesNotContain("hunter2")
                .doesNotContain("IllegalStateException").doesNotContain("refused");
        assertThat(results.get("kafka").status()).isEqualTo(Health.Status.UP);
        assertThat(Health.overall(results)).isEqualTo(Health.Status.DOWN);
    }
}
