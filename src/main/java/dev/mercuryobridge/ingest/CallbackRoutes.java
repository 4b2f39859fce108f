package dev.mercuryobridge.ingest;

import dev.mercuryobridge.http.ApiException;
import dev.mercuryobridge.http.BoundedBody;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Mercuryo's two callback routes on the public port. Answers 200 only after the commit; Mercuryo
 * retries anything else, so every failure here is safe to answer with a non-200.
 */
public final class CallbackRoutes {
    private static final Logger log = LoggerFactory.getLogger(CallbackRoutes.class);
    private static final Map<String, String> ACCEPTED = Map.of("status", "accepted");

    private final SignatureVerifier verifier;
    private final IngestQueue queue;
    private final CallbackMetrics metrics;
    private final int maxBodyBytes;

    public CallbackRoutes(SignatureVerifier verifier, IngestQueue queue, CallbackMetrics metrics, int maxBodyBytes) {
        this.verifier = verifier;
        this.queue = queue;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
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
        SignatureVerifier.Match match = verifier.verify(body, ctx.header("X-Signature")).orElse(null);
        if (match == null) {
            metrics.rejected(route, "bad_signature");
            // Neither the body nor the header goes to the log: they may be anyone's bytes.
            log.warn("rejected a {} callback from {}: X-Signature {}", route.dbValue(), ctx.ip(),
                    ctx.header("X-Signature") == null ? "missing" : "does not match any configured key");
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
        ctx.future(() -> stored.thenAccept(outcome -> {
            ctx.header("X-Callback-Outcome", outcome.label());
            ctx.status(200).json(ACCEPTED);
        }));
    }
}
