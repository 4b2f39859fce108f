package dev.mercuryobridge.http;

import dev.mercuryobridge.testing.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

class LogThrottleTest {

    @Test
    void the_first_line_is_written_and_the_rest_of_the_interval_is_held_back_and_counted() {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        LogThrottle throttle = new LogThrottle(clock, Duration.ofSeconds(10));

        assertThat(throttle.acquire()).isEqualTo(OptionalLong.of(0));
        for (int i = 0; i < 7; i++) {
            clock.advance(Duration.ofSeconds(1));
            assertThat(throttle.acquire()).isEmpty();
        }
        clock.advance(Duration.ofSeconds(3));   // 10 s after the first line

        OptionalLong next = throttle.acquire();
        assertThat(next).isEqualTo(OptionalLong.of(7));
        assertThat(throttle.suffix(next.getAsLong())).contains("7 more");
        assertThat(throttle.acquire()).isEmpty();
    }

    @Test
    void after_a_quiet_interval_the_next_line_reports_nothing_held_back() {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        LogThrottle throttle = new LogThrottle(clock, Duration.ofSeconds(10));
        throttle.acquire();
        clock.advance(Duration.ofMinutes(5));

        assertThat(throttle.acquire()).isEqualTo(OptionalLong.of(0));
        assertThat(throttle.suffix(0)).isEmpty();
    }
}
