package dev.mercuryobridge.admin;

import dev.mercuryobridge.http.ApiException;
import dev.mercuryobridge.http.Health;
import dev.mercuryobridge.http.Params;
import dev.mercuryobridge.ingest.QuarantineService;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The admin port: health and metrics open (for probes and scrapers), everything under
 * {@code /api} behind {@code Authorization: Bearer $ADMIN_TOKEN}.
 */
public final class AdminRoutes {

    private final Health health;
    private final PrometheusMeterRegistry registry;
    private final TransactionQueries transactions;
    private final QuarantineService quarantine;
    private final byte[] openApi;

    public AdminRoutes(Health health, PrometheusMeterRegistry registry, TransactionQueries transactions,
                       QuarantineService quarantine) {
        this.health = health;
        this.registry = registry;
        this.transactions = transactions;
        this.quarantine = quarantine;
        this.openApi = openApiDocument();
    }

    public void register(RoutesConfig routes) {
        routes.get("/health/live", ctx -> ctx.json(Map.of("status", "up")));
        routes.get("/health/ready", this::ready);
        routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(registry.scrape()));
        // Open like /metrics: the description of both ports holds no secret and no address.
        routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(openApi));

        routes.get("/api/transactions/{id}", ctx -> ctx.json(transactions.find(ctx.pathParam("id"))
                .orElseThrow(() -> ApiException.notFound("no transaction " + ctx.pathParam("id")))));
        routes.get("/api/quarantine", ctx -> ctx.json(Map.of("items", quarantine.list(
                Boolean.parseBoolean(ctx.queryParam("include_replayed")), Params.limit(ctx)))));
        routes.post("/api/quarantine/{id}/replay", ctx -> ctx.json(quarantine.replay(Params.longPathParam(ctx, "id"))));
    }

    private void ready(Context ctx) {
        Map<String, Health.Check> results = health.run();
        Health.Status overall = Health.overall(results);
        Map<String, Object> checks = new LinkedHashMap<>();
        results.forEach((name, check) -> checks.put(name, Map.of("status", check.status().label(), "detail", check.detail())));
        ctx.status(overall == Health.Status.DOWN ? 503 : 200)
                .json(Map.of("status", overall.label(), "checks", checks));
    }

    /**
     * The OpenAPI 3.1 description of both ports, read once at start; a build without it fails
     * here rather than answering 404 later.
     */
    private static byte[] openApiDocument() {
        try (InputStream in = AdminRoutes.class.getResourceAsStream("/openapi.json")) {
            if (in == null) {
                throw new IllegalStateException("openapi.json is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("openapi.json could not be read", e);
        }
    }
}
