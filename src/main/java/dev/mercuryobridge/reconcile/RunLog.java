package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.mercuryobridge.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What one run did, as it goes (items are checked concurrently): counts, the first hundred errors
 * with their item, who needs registration, and the failure that ended it, if one did.
 */
final class RunLog {
    private static final Logger log = LoggerFactory.getLogger(RunLog.class);
    private static final int MAX_ERRORS_KEPT = 100;

    /** An item that could not be checked: {@code kind} is mercuryo, error or deferred. */
    record Error(String item, String kind, String error) {}

    /**
     * A card user who cannot be checked: what is missing ({@code email}, {@code ip}, or
     * {@code user} when a sell request names no known user) and the sell requests waiting on them.
     */
    record NeedsRegistration(String userUuid, List<String> missing, List<String> sellRequests) {}

    private final AtomicInteger checked = new AtomicInteger();
    private final AtomicInteger findings = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final List<Error> kept = new ArrayList<>();
    private final Map<String, NeedsRegistration> needsRegistration = new LinkedHashMap<>();
    private final AtomicReference<String> failure = new AtomicReference<>();

    void checked(int announcedFindings) {
        checked.incrementAndGet();
        findings.addAndGet(announcedFindings);
    }

    /** An unexpected failure: recorded like any error, logged with its stack for whoever debugs it. */
    void error(String item, RuntimeException e) {
        log.debug("reconciliation item {} failed", item, e);
        error(item, "error", e.getClass().getSimpleName() + ": " + e.getMessage());
    }

    void error(String item, String kind, String message) {
        errors.incrementAndGet();
        synchronized (kept) {
            if (kept.size() < MAX_ERRORS_KEPT) {
                kept.add(new Error(item, kind, message));
            }
        }
        log.warn("reconciliation item {} failed ({}): {}", item, kind, message);
    }

    /** Ends the run as a whole; the first failure is the one kept. */
    void fail(String why) {
        if (failure.compareAndSet(null, why)) {
            log.error("reconciliation run failed: {}", why);
        }
    }

    synchronized void needsRegistration(String userUuid, List<String> missing, String sellRequest) {
        String key = userUuid == null ? "" : userUuid;
        NeedsRegistration entry = needsRegistration.computeIfAbsent(key,
                k -> new NeedsRegistration(userUuid, List.copyOf(missing), new ArrayList<>()));
        if (sellRequest != null) {
            entry.sellRequests().add(sellRequest);
        }
    }

    int checked() {
        return checked.get();
    }

    int findings() {
        return findings.get();
    }

    int errors() {
        return errors.get();
    }

    String failure() {
        return failure.get();
    }

    synchronized int needsRegistrationCount() {
        return needsRegistration.size();
    }

    String errorsJson() {
        synchronized (kept) {
            return json(kept);
        }
    }

    synchronized String needsRegistrationJson(int max) {
        return json(needsRegistration.values().stream().limit(max).toList());
    }

    private static String json(Object value) {
        try {
            return Json.MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
