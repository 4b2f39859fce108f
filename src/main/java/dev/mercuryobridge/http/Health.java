package dev.mercuryobridge.http;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Readiness: named checks, each up, degraded (working, but something behind it is not, such as
 * the broker while the outbox buffers) or down. Ready unless a check is down.
 *
 * <p>The answer is unauthenticated, so it names the dependency and its state but never an
 * address, a credential or an exception text: those go to the log (throttled, since anyone can
 * call the probe).
 */
public final class Health {
    private static final Logger log = LoggerFactory.getLogger(Health.class);

    public enum Status { UP, DEGRADED, DOWN;
        public String label() {
            return name().toLowerCase();
        }
    }

    public record Check(Status status, String detail) {
        public static Check up(String detail) {
            return new Check(Status.UP, detail);
        }
    }

    private final Map<String, Supplier<Check>> checks = new LinkedHashMap<>();
    private final LogThrottle failureLog;

    public Health(Clock clock) {
        this.failureLog = new LogThrottle(clock, Duration.ofSeconds(30));
    }

    public Health add(String name, Supplier<Check> check) {
        checks.put(name, check);
        return this;
    }

    /** Runs every check; a check that throws is reported down, its exception logged, not shown. */
    public Map<String, Check> run() {
        Map<String, Check> results = new LinkedHashMap<>();
        checks.forEach((name, check) -> {
            Check result;
            try {
                result = check.get();
            } catch (RuntimeException e) {
                failureLog.acquire().ifPresent(heldBack ->
                        log.warn("readiness check {} failed{}", name, failureLog.suffix(heldBack), e));
                result = new Check(Status.DOWN, "check failed (see the service log)");
            }
            results.put(name, result);
        });
        return results;
    }

    public static Status overall(Map<String, Check> results) {
        if (results.values().stream().anyMatch(c -> c.status() == Status.DOWN)) {
            return Status.DOWN;
        }
        return results.values().stream().anyMatch(c -> c.status() == Status.DEGRADED) ? Status.DEGRADED : Status.UP;
    }
}
