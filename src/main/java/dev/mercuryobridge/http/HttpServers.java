package dev.mercuryobridge.http;

import dev.mercuryobridge.db.DatabaseErrors;
import dev.mercuryobridge.json.Json;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Builds the Javalin servers with what both ports share: one JSON error shape for every failure,
 * request-latency metrics, and graceful shutdown (stop accepting, finish in-flight requests).
 */
public final class HttpServers {
    private static final Logger log = LoggerFactory.getLogger(HttpServers.class);
    /** Seconds: a lock or a load spike usually passes quickly (Mercuryo keeps its own retry schedule). */
    static final String RETRY_AFTER_TIMEOUT = "5";

    private HttpServers() {}

    public static Javalin create(String name, MeterRegistry registry, Duration stopTimeout, Consumer<JavalinConfig> routes) {
        return Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
            config.jetty.modifyServer(server -> {
                // Jetty's GracefulHandler makes stop() wait for in-flight requests (up to the
                // stop timeout) while refusing new ones; Javalin nests its handler inside it.
                server.setHandler(new GracefulHandler());
                server.setStopTimeout(stopTimeout.toMillis());
                // Requests Jetty refuses before Javalin sees them (a malformed URI, say) get the
                // same JSON error shape as everything else.
                server.setErrorHandler(new JsonErrorHandler());
            });
            config.requestLogger.http((ctx, millis) -> Timer.builder("http.server.requests")
                    .description("HTTP request latency")
                    .tag("server", name)
                    .tag("method", ctx.method().name())
                    .tag("route", routeOf(ctx))
                    .tag("status", String.valueOf(ctx.statusCode()))
                    .publishPercentileHistogram()
                    .register(registry)
                    .record((long) (millis * 1_000_000), TimeUnit.NANOSECONDS));

            config.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e.status(), e.code(), e.getMessage()));
            config.routes.exception(HttpResponseException.class, (e, ctx) ->
                    error(ctx, e.getStatus(), codeFor(e.getStatus()), e.getMessage()));
            config.routes.exception(Exception.class, (e, ctx) -> {
                if (DatabaseErrors.isTimeout(e)) {
                    // Not the exception text: PostgreSQL may quote a value, which is callback data.
                    log.warn("{} {}: database timeout (SQLState {})", ctx.method(), ctx.path(), DatabaseErrors.sqlState(e));
                    ctx.header("Retry-After", RETRY_AFTER_TIMEOUT);
                    error(ctx, 503, "database_timeout",
                            "a database lock or statement took too long; nothing was stored, retry later");
                } else if (DatabaseErrors.isUnavailable(e)) {
                    log.warn("{} {}: database unavailable: {}", ctx.method(), ctx.path(), RootCause.message(e));
                    ctx.header("Retry-After", "60");
                    error(ctx, 503, "database_unavailable", "the database is unavailable; nothing was stored, retry later");
                } else {
                    log.error("{} {} failed", ctx.method(), ctx.path(), e);
                    error(ctx, 500, "internal_error", "internal error; nothing was stored");
                }
            });
            config.routes.error(404, ctx -> {
                if (ctx.result() == null || ctx.result().isEmpty()) {
                    error(ctx, 404, "not_found", "no route " + ctx.method() + " " + ctx.path());
                }
            });
            config.routes.error(405, ctx -> error(ctx, 405, "method_not_allowed", ctx.method() + " is not allowed on " + ctx.path()));
            routes.accept(config);
        });
    }

    private static final class JsonErrorHandler extends org.eclipse.jetty.server.handler.ErrorHandler {
        @Override
        protected void generateResponse(org.eclipse.jetty.server.Request request, org.eclipse.jetty.server.Response response,
                                        int code, String message, Throwable cause, org.eclipse.jetty.util.Callback callback)
                throws java.io.IOException {
            byte[] body = Json.MAPPER.writeValueAsBytes(Map.of("error", codeFor(code),
                    "message", message == null ? org.eclipse.jetty.http.HttpStatus.getMessage(code) : message));
            response.getHeaders().put(org.eclipse.jetty.http.HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, java.nio.ByteBuffer.wrap(body), callback);
        }
    }

    /** The HTTP routes a server answers, as {@code "GET /api/findings"} (filters such as before-handlers left out). */
    public static List<String> routes(Javalin server) {
        return server.unsafe.internalRouter.allHttpHandlers().stream()
                .map(parsed -> parsed.endpoint)
                .filter(endpoint -> endpoint.method.isHttpMethod())
                .map(endpoint -> endpoint.method.name() + " " + endpoint.path)
                .sorted()
                .toList();
    }

    public static void error(Context ctx, int status, String code, String message) {
        ctx.status(status).json(Map.of("error", code, "message", message == null ? "" : message));
    }

    private static String codeFor(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 413 -> "payload_too_large";
            default -> "http_" + status;
        };
    }

    private static String routeOf(Context ctx) {
        try {
            String path = ctx.endpoint().path;
            return path == null || path.isEmpty() ? "unmatched" : path;
        } catch (RuntimeException e) {
            return "unmatched";
        }
    }
}
