package dev.mercuryobridge.ingest;

import dev.mercuryobridge.http.ApiException;
import dev.mercuryobridge.http.BoundedBody;
import dev.mercuryobridge.http.LogThrottle;
import dev.mercuryobridge.json.Json;
import io.javalin.config.RoutesConfig;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * Mercuryo's two callback routes on the public port. Answers 200 only after the commit; Mercuryo
 * retries anything else, so every failure here is safe to answer with a non-200.
 */
public final class CallbackRoutes {
    private static final Logger log = LoggerFactory.getLogger(CallbackRoutes.class);
    /** The answer to every stored callback, serialized once (not per request). */
    private static final byte[] ACCEPTED = acceptedJson();
    /** Anyone can send a wrong signature: one log line per interval at most (the metric counts all). */
    static final Duration REJECTED_LOG_INTERVAL = Duration.ofSeconds(10);
    /**
     * Where the answers of a committed batch are written: not in the writer thread that completes
     * the futures, which would otherwise write each response (Javalin and Jetty's work) one after
     * the other before it can take the next batch (a quarter of the writers' CPU samples in JFR).
     */
    private static final Executor REPLIES = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
            Thread.ofPlatform().name("ingest-reply-", 0).daemon(true).factory());

    private final SignatureVerifier verifier;
    private final IngestQueue queue;
    private final CallbackMetrics metrics;
    private final int maxBodyBytes;
    private final LogThrottle rejectedLog;
    private final LogThrottle strippedVariantLog;

    public CallbackRoutes(SignatureVerifier verifier, IngestQueue queue, CallbackMetrics metrics, int maxBodyBytes,
                          Clock clock) {
        this.verifier = verifier;
        this.queue = queue;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
        this.rejectedLog = new LogThrottle(clock, REJECTED_LOG_INTERVAL);
        this.strippedVariantLog = new LogThrottle(clock, REJECTED_LOG_INTERVAL);
    }

    public void register(RoutesConfig routes) {
        routes.post("/callbacks/mercuryo", ctx -> handle(ctx, Callback.Route.TRANSACTION));
        routes.post("/callbacks/mercuryo/spend-card", ctx -> handle(ctx, Callback.Route.SPEND_CARD));
    }

    private void handle(Context ctx, Callback.Route route) {
        byte[] body;
        try {
            body = BoundedBody.read(ctx, maxBodyBytes);
        } catch (ApiException e) {
            metrics.rejected(route, "too_large");
            throw e;
        }
        SignatureVerifier.Verification verification = verifier.check(body, ctx.header("X-Signature"));
        SignatureVerifier.Match match = verification.match().orElse(null);
        if (match == null) {
            metrics.rejected(route, "bad_signature");
            logRejected(ctx, route, verification.strippedVariantWouldMatch());
            throw new ApiException(401, "invalid_signature", "X-Signature is missing or does not match");
        }
        CompletableFuture<Outcome> stored;
        try {
            stored = queue.submit(route, body, match);
        } catch (ApiException e) {
            metrics.rejected(route, "queue_full");
            ctx.header("Retry-After", "1");
            throw e;
        }
        // The request waits for its batch's commit without holding a thread.
        ctx.future(() -> stored.thenAcceptAsync(outcome -> {
            ctx.header("X-Callback-Outcome", outcome.label());
            ctx.status(200).contentType(ContentType.APPLICATION_JSON).result(ACCEPTED);
        }, REPLIES));
    }

    private static byte[] acceptedJson() {
        try {
            return Json.MAPPER.writeValueAsBytes(Map.of("status", "accepted"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Neither the body nor the header goes to the log: they may be anyone's bytes. */
    private void logRejected(Context ctx, Callback.Route route, boolean strippedVariantWouldMatch) {
        if (strippedVariantWouldMatch) {
            // Only a holder of the Sign Key can produce this, so it is Mercuryo (or a test
            // sender) signing the body with whitespace removed: tell the operator what to do.
            strippedVariantLog.acquire().ifPresent(heldBack -> log.atWarn()
                    .addKeyValue("route", route.dbValue()).addKeyValue("outcome", "rejected").log(
                    "rejected a {} callback from {}: X-Signature matches the body with whitespace removed, a variant that"
                            + " is off. If Mercuryo signs your callbacks this way, set"
                            + " MERCURYO_SIGNATURE_VARIANTS=raw,whitespace_stripped (see the README: with it, whitespace"
                            + " inside JSON strings can be changed without breaking the signature){}",
                    route.dbValue(), ctx.ip(), strippedVariantLog.suffix(heldBack)));
        } else {
            rejectedLog.acquire().ifPresent(heldBack -> log.atWarn()
                    .addKeyValue("route", route.dbValue()).addKeyValue("outcome", "rejected")
                    .log("rejected a {} callback from {}: X-Signature {}{}",
                    route.dbValue(), ctx.ip(),
                    ctx.header("X-Signature") == null ? "missing" : "does not match any configured key",
                    rejectedLog.suffix(heldBack)));
        }
    }
}
