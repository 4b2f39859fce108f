package dev.mercuryobridge.admin;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Readiness: named checks, each up, degraded (working, but something behind it is not, such as
 * the broker while the outbox buffers) or down. Ready unless a check is down.
 */
public final class Health {

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

    public Health add(String name, Supplier<Check> check) {
        checks.put(name, check);
        return this;
    }

    /** Runs every check; a check that throws is reported down with its message. */
    public Map<String, Check> run() {
        Map<String, Check> results = new LinkedHashMap<>();
        checks.forEach((name, check) -> {
            Check result;
            try {
                result = check.get();
            } catch (RuntimeException e) {
                result = new Check(Status.DOWN, e.getClass().getSimpleName() + ": " + e.getMessage());
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
