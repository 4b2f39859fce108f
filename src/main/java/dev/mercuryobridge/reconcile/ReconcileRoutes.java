package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.http.ApiException;
import dev.mercuryobridge.http.Params;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import org.jooq.DSLContext;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/** Admin API of the reconciler: what to watch, runs, and findings. Parses and answers; {@link ReconcileStore} holds the SQL. */
public final class ReconcileRoutes {
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]{1,64}@[^@\\s]{1,255}\\.[^@\\s]{1,63}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}");

    record RunDetail(@JsonProperty("run") ReconcileStore.RunView run, List<ReconcileStore.FindingView> findings) {}

    private final ReconcileStore store;
    private final Reconciler reconciler;

    public ReconcileRoutes(DSLContext dsl, Reconciler reconciler) {
        this.store = new ReconcileStore(dsl);
        this.reconciler = reconciler;
    }

    public void register(RoutesConfig routes) {
        routes.put("/api/card-users/{user_uuid}", this::putCardUser);
        routes.get("/api/card-users/{user_uuid}", ctx -> ctx.json(cardUser(id(ctx, "user_uuid"))));
        routes.put("/api/sell-requests/{id}", this::putSellRequest);
        routes.post("/api/reconciliation/runs", this::startRun);
        routes.get("/api/reconciliation/runs", ctx -> ctx.json(Map.of("items", store.runs(Params.limit(ctx)))));
        routes.get("/api/reconciliation/runs/{id}", ctx -> {
            long id = Params.longPathParam(ctx, "id");
            ctx.json(new RunDetail(run(id), store.findingsOfRun(id)));
        });
        routes.get("/api/findings", ctx -> ctx.json(Map.of("items", store.findings(
                new ReconcileStore.FindingFilter(open(ctx.queryParam("open")), ctx.queryParam("kind"), ctx.queryParam("subject")),
                Params.limit(ctx)))));
    }

    private static Boolean open(String open) {
        if (open == null) {
            return null;
        }
        return switch (open) {
            case "true" -> true;
            case "false" -> false;
            default -> throw ApiException.badRequest("invalid_open", "open must be true or false");
        };
    }

    private void putCardUser(Context ctx) {
        String userUuid = id(ctx, "user_uuid");
        JsonNode body = Params.jsonObject(ctx);
        String email = body.path("email").isTextual() ? body.get("email").textValue().trim() : null;
        String ip = body.path("ip").isTextual() ? body.get("ip").textValue().trim() : null;
        if (email == null || !EMAIL.matcher(email).matches()) {
            throw ApiException.badRequest("invalid_email", "email is required and must be an e-mail address");
        }
        if (ip != null && !Config.isIpLiteral(ip)) {
            throw ApiException.badRequest("invalid_ip", "ip must be the user's IPv4 or IPv6 address");
        }
        ctx.json(store.putCardUser(userUuid, email, ip));
    }

    private ReconcileStore.CardUserView cardUser(String userUuid) {
        return store.cardUser(userUuid).orElseThrow(() -> ApiException.notFound("no card user " + userUuid));
    }

    private void putSellRequest(Context ctx) {
        String id = id(ctx, "id");
        JsonNode body = Params.jsonObject(ctx);
        String userUuid = body.path("user_uuid").isTextual() ? body.get("user_uuid").textValue().trim() : null;
        if (userUuid == null || !ID.matcher(userUuid).matches()) {
            throw ApiException.badRequest("invalid_user_uuid", "user_uuid is required (the card user who created the sell request)");
        }
        ctx.json(store.putSellRequest(id, userUuid));
    }

    /**
     * Starts a run: 202 with the run, or 409 when one is running (here or on another instance).
     * {@code ?wait=true} answers when the run has finished (up to 10 minutes).
     */
    private void startRun(Context ctx) throws InterruptedException {
        switch (reconciler.start("manual")) {
            case Reconciler.Start.AlreadyRunning a ->
                    throw ApiException.conflict("run_in_progress", "a reconciliation run is already in progress");
            case Reconciler.Start.Started s -> {
                if (Boolean.parseBoolean(ctx.queryParam("wait"))) {
                    try {
                        s.done().get(10, TimeUnit.MINUTES);
                    } catch (ExecutionException | TimeoutException e) {
                        // The run records its own failure; the answer below shows its state.
                    }
                    ctx.status(200).json(run(s.runId()));
                } else {
                    ctx.status(202).json(run(s.runId()));
                }
            }
        }
    }

    private ReconcileStore.RunView run(long id) {
        return store.run(id).orElseThrow(() -> ApiException.notFound("no reconciliation run " + id));
    }

    private static String id(Context ctx, String name) {
        String v = ctx.pathParam(name);
        if (!ID.matcher(v).matches()) {
            throw ApiException.badRequest("invalid_" + name, name + " is not a valid id");
        }
        return v;
    }
}
