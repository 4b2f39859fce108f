package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.config.Config;
import dev.mercuryobridge.db.Jsonb;
import dev.mercuryobridge.http.ApiException;
import dev.mercuryobridge.http.Params;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import static dev.mercuryobridge.db.generated.Tables.CARD_USER;
import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.RECONCILIATION_RUN;
import static dev.mercuryobridge.db.generated.Tables.WATCHED_SELL_REQUEST;

/** Admin API of the reconciler: what to watch, runs, and findings. */
public final class ReconcileRoutes {
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]{1,64}@[^@\\s]{1,255}\\.[^@\\s]{1,63}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}");

    public record CardUserView(String userUuid, String email, String ip, String cardId, String source,
                               Instant firstSeenAt, Instant updatedAt) {}

    public record SellRequestView(String id, String userUuid, String source, Instant registeredAt) {}

    /**
     * A run. {@code failure} says why it failed as a whole (e.g. a base URL that does not answer
     * like Mercuryo); {@code needsRegistration} lists the card users it could not check for want of
     * an e-mail or a real IP (register them with PUT /api/card-users/{uuid}).
     */
    public record RunView(long id, String trigger, String status, Instant startedAt, Instant finishedAt,
                          int itemsChecked, int findings, int errors, JsonNode errorDetail, String failure,
                          JsonNode needsRegistration) {}

    public record FindingView(long id, String kind, String subject, String expected, String actual,
                              String detectedBy, Long runId, Instant detectedAt, Instant lastDetectedAt, int occurrence,
                              Instant resolvedAt, JsonNode detail) {}

    public record RunDetail(@JsonProperty("run") RunView run, List<FindingView> findings) {}

    private final DSLContext dsl;
    private final Reconciler reconciler;

    public ReconcileRoutes(DSLContext dsl, Reconciler reconciler) {
        this.dsl = dsl;
        this.reconciler = reconciler;
    }

    public void register(RoutesConfig routes) {
        routes.put("/api/card-users/{user_uuid}", this::putCardUser);
        routes.get("/api/card-users/{user_uuid}", ctx -> ctx.json(cardUser(id(ctx, "user_uuid"))));
        routes.put("/api/sell-requests/{id}", this::putSellRequest);
        routes.post("/api/reconciliation/runs", this::startRun);
        routes.get("/api/reconciliation/runs", ctx -> ctx.json(Map.of("items", runs(Params.limit(ctx)))));
        routes.get("/api/reconciliation/runs/{id}", ctx -> {
            long id = Params.longPathParam(ctx, "id");
            RunView run = run(id);
            ctx.json(new RunDetail(run, findings(FINDING.RUN_ID.eq(id), 10_000)));
        });
        routes.get("/api/findings", ctx -> {
            var condition = DSL.noCondition();
            String open = ctx.queryParam("open");
            if ("true".equals(open)) {
                condition = condition.and(FINDING.RESOLVED_AT.isNull());
            } else if ("false".equals(open)) {
                condition = condition.and(FINDING.RESOLVED_AT.isNotNull());
            } else if (open != null) {
                throw ApiException.badRequest("invalid_open", "open must be true or false");
            }
            if (ctx.queryParam("kind") != null) {
                condition = condition.and(FINDING.KIND.eq(ctx.queryParam("kind")));
            }
            if (ctx.queryParam("subject") != null) {
                condition = condition.and(FINDING.SUBJECT.eq(ctx.queryParam("subject")));
            }
            ctx.json(Map.of("items", findings(condition, Params.limit(ctx))));
        });
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
        dsl.insertInto(CARD_USER)
                .set(CARD_USER.USER_UUID, userUuid).set(CARD_USER.EMAIL, email).set(CARD_USER.IP, ip)
                .set(CARD_USER.SOURCE, "admin")
                .onConflict(CARD_USER.USER_UUID).doUpdate()
                .set(CARD_USER.EMAIL, email).set(CARD_USER.IP, DSL.coalesce(DSL.val(ip), CARD_USER.IP))
                .set(CARD_USER.UPDATED_AT, DSL.currentInstant())
                .execute();
        ctx.json(cardUser(userUuid));
    }

    private CardUserView cardUser(String userUuid) {
        return dsl.selectFrom(CARD_USER).where(CARD_USER.USER_UUID.eq(userUuid))
                .fetchOptional(r -> new CardUserView(r.getUserUuid(), r.getEmail(), r.getIp(), r.getCardId(), r.getSource(),
                        r.getFirstSeenAt(), r.getUpdatedAt()))
                .orElseThrow(() -> ApiException.notFound("no card user " + userUuid));
    }

    private void putSellRequest(Context ctx) {
        String id = id(ctx, "id");
        JsonNode body = Params.jsonObject(ctx);
        String userUuid = body.path("user_uuid").isTextual() ? body.get("user_uuid").textValue().trim() : null;
        if (userUuid == null || !ID.matcher(userUuid).matches()) {
            throw ApiException.badRequest("invalid_user_uuid", "user_uuid is required (the card user who created the sell request)");
        }
        dsl.insertInto(WATCHED_SELL_REQUEST)
                .set(WATCHED_SELL_REQUEST.ID, id).set(WATCHED_SELL_REQUEST.USER_UUID, userUuid)
                .set(WATCHED_SELL_REQUEST.SOURCE, "admin")
                .onConflict(WATCHED_SELL_REQUEST.ID).doUpdate()
                .set(WATCHED_SELL_REQUEST.USER_UUID, userUuid)
                .execute();
        ctx.json(dsl.selectFrom(WATCHED_SELL_REQUEST).where(WATCHED_SELL_REQUEST.ID.eq(id))
                .fetchSingle(r -> new SellRequestView(r.getId(), r.getUserUuid(), r.getSource(), r.getRegisteredAt())));
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

    private List<RunView> runs(int limit) {
        return dsl.selectFrom(RECONCILIATION_RUN).orderBy(RECONCILIATION_RUN.ID.desc()).limit(limit)
                .fetch(ReconcileRoutes::runView);
    }

    private RunView run(long id) {
        return dsl.selectFrom(RECONCILIATION_RUN).where(RECONCILIATION_RUN.ID.eq(id))
                .fetchOptional(ReconcileRoutes::runView)
                .orElseThrow(() -> ApiException.notFound("no reconciliation run " + id));
    }

    private static RunView runView(dev.mercuryobridge.db.generated.tables.records.ReconciliationRunRecord r) {
        return new RunView(r.getId(), r.getTrigger(), r.getStatus(), r.getStartedAt(), r.getFinishedAt(),
                r.getItemsChecked(), r.getFindings(), r.getErrors(), Jsonb.read(r.getErrorDetail()), r.getFailure(),
                Jsonb.read(r.getNeedsRegistration()));
    }

    private List<FindingView> findings(org.jooq.Condition condition, int limit) {
        return dsl.selectFrom(FINDING).where(condition).orderBy(FINDING.ID).limit(limit)
                .fetch(f -> new FindingView(f.getId(), f.getKind(), f.getSubject(), f.getExpected(), f.getActual(),
                        f.getDetectedBy(), f.getRunId(), f.getDetectedAt(), f.getLastDetectedAt(), f.getOccurrence(),
                        f.getResolvedAt(), Jsonb.read(f.getDetail())));
    }



    private static String id(Context ctx, String name) {
        String v = ctx.pathParam(name);
        if (!ID.matcher(v).matches()) {
            throw ApiException.badRequest("invalid_" + name, name + " is not a valid id");
        }
        return v;
    }


}
