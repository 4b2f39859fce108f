package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.RetryPolicyBuilder;
import dev.mercuryobridge.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * One Mercuryo call: the HTTP exchange with its time limit and retries, and the reading of the
 * answer. An answer is Mercuryo's when it is JSON (by content type and body) shaped as the API
 * text shows: {@code {"data": {...}, "status": "200"}} on success, an object with a six-digit
 * {@code code} on failure. Anything else is a {@link MercuryoProtocolException}, except a 5xx,
 * which is an outage to retry whatever its body.
 */
final class MercuryoHttp implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MercuryoHttp.class);
    private static final int BODY_EXCERPT = 200;

    private final String baseUrl;
    private final MercuryoClient.Settings settings;
    private final HttpClient http;
    private final FailsafeExecutor<Object> retrying;

    MercuryoHttp(URI baseUrl, MercuryoClient.Settings settings) {
        String scheme = baseUrl.getScheme();
        if (!"https".equalsIgnoreCase(scheme) && !"http".equalsIgnoreCase(scheme)) {
            throw new IllegalArgumentException("baseUrl must be http(s): " + baseUrl);
        }
        String base = baseUrl.toString();
        this.baseUrl = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        this.settings = settings;
        this.http = HttpClient.newBuilder().connectTimeout(settings.callTimeout()).build();
        this.retrying = Failsafe.with(retryPolicy(settings));
    }

    HttpRequest.Builder request(String pathAndQuery) {
        return HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
                .timeout(settings.callTimeout())
                .header("Accept", "application/json");
    }

    /**
     * Sends with retries and maps the answer's {@code data} object. A {@code data} the mapper cannot
     * read (a documented field missing or malformed) is a protocol failure, not retried.
     */
    <T> T call(HttpRequest request, Function<JsonNode, T> mapper) {
        String call = request.method() + " " + request.uri().getRawPath();
        JsonNode data = execute(request, call);
        try {
            return mapper.apply(data);
        } catch (IllegalArgumentException | DateTimeException | ArithmeticException e) {
            throw new MercuryoProtocolException(call + ": the answer is not what the API text documents: " + e.getMessage());
        }
    }

    private JsonNode execute(HttpRequest request, String call) {
        try {
            return (JsonNode) retrying.get(() -> attempt(request, call));
        } catch (FailsafeException e) {
            Throwable cause = e.getCause();
            if (cause instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                throw new UncheckedIOException(call + " interrupted", new InterruptedIOException("interrupted"));
            }
            if (cause instanceof IOException io) {
                throw new UncheckedIOException(call + " failed after " + settings.maxAttempts() + " attempt(s): " + io, io);
            }
            throw e;
        }
    }

    /**
     * One HTTP exchange. The whole exchange, body included, is bounded by callTimeout:
     * {@link HttpRequest#timeout} alone stops waiting once headers arrive.
     */
    private JsonNode attempt(HttpRequest request, String call) throws IOException, InterruptedException {
        CompletableFuture<HttpResponse<byte[]>> future = http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> response;
        try {
            response = future.get(settings.callTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new HttpTimeoutException(call + ": no complete answer within " + settings.callTimeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(call + " failed", cause);
        }
        String contentType = response.headers().firstValue("Content-Type").orElse("");
        return interpret(call, response.statusCode(), contentType, response.body());
    }

    /** The {@code data} of a successful Mercuryo answer; anything else is thrown. */
    static JsonNode interpret(String call, int status, String contentType, byte[] body) {
        JsonNode json = mercuryoJson(contentType, body);
        boolean success = status >= 200 && status <= 299;
        if (json == null) {
            String what = "HTTP " + status + " answer is not Mercuryo's JSON (content type '" + contentType + "', body "
                    + excerpt(body) + ")";
            if (status >= 500) {
                // A gateway's error page: Mercuryo (or the way to it) is down for now.
                throw new MercuryoApiException(status, status * 1000, call + ": " + what);
            }
            throw new MercuryoProtocolException(call + ": " + what + "; is MERCURYO_API_BASE_URL right?");
        }
        Integer code = integer(json.get("code"));
        Integer bodyStatus = integer(json.get("status"));
        // Some gateways answer 200 with an error body; its code decides, as it would on a 4xx/5xx.
        boolean failure = !success || (code != null && code >= 400_000) || (bodyStatus != null && bodyStatus >= 400);
        if (failure) {
            if (code == null || code < 100_000 || code > 999_999) {
                if (status >= 500) {
                    throw new MercuryoApiException(status, status * 1000, call + ": HTTP " + status + ": " + excerpt(body));
                }
                throw new MercuryoProtocolException(call + ": HTTP " + status
                        + " with no six-digit Mercuryo error code: " + excerpt(body) + "; is MERCURYO_API_BASE_URL right?");
            }
            throw failure(call, status, code, json);
        }
        JsonNode data = json.get("data");
        if (data == null || !data.isObject()) {
            throw new MercuryoProtocolException(call + ": HTTP " + status + " answer has no 'data' object: " + excerpt(body));
        }
        return data;
    }

    private static MercuryoApiException failure(String call, int status, int code, JsonNode json) {
        String message = Fields.text(json, "message");
        StringBuilder text = new StringBuilder(call).append(": HTTP ").append(status)
                .append(", code ").append(code).append(": ")
                .append(message != null ? Fields.abbreviate(message, BODY_EXCERPT) : "(no message)");
        JsonNode data = json.get("data");
        if (data != null && !data.isNull() && !data.isEmpty()) {
            // 400001 "check the data field": the details are what someone debugging needs.
            text.append(" (data: ").append(Fields.abbreviate(data.toString(), BODY_EXCERPT)).append(')');
        }
        return new MercuryoApiException(status, code, text.toString());
    }

    /** The body as a JSON object when the answer says it is JSON and is one; else null. */
    private static JsonNode mercuryoJson(String contentType, byte[] body) {
        if (!contentType.toLowerCase(Locale.ROOT).contains("json") || body == null || body.length == 0) {
            return null;
        }
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            return json != null && json.isObject() ? json : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static Integer integer(JsonNode node) {
        if (node == null) {
            return null;
        }
        if (node.isIntegralNumber() && node.canConvertToInt()) {
            return node.intValue();
        }
        if (node.isTextual()) {
            try {
                return Integer.parseInt(node.asText().strip());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    static String excerpt(byte[] body) {
        if (body == null || body.length == 0) {
            return "(empty)";
        }
        return Fields.abbreviate(new String(body, StandardCharsets.UTF_8), BODY_EXCERPT);
    }

    private static RetryPolicy<Object> retryPolicy(MercuryoClient.Settings settings) {
        RetryPolicyBuilder<Object> builder = RetryPolicy.builder()
                .handleIf(MercuryoHttp::isTransient)
                .withMaxAttempts(settings.maxAttempts())
                .withJitter(0.5)
                .onRetry(event -> log.debug("retrying Mercuryo call, attempt {} after: {}",
                        event.getAttemptCount() + 1, event.getLastException().toString()));
        if (settings.initialBackoff().compareTo(settings.maxBackoff()) < 0) {
            builder.withBackoff(settings.initialBackoff(), settings.maxBackoff());
        } else {
            builder.withDelay(settings.initialBackoff());
        }
        return builder.build();
    }

    /** Worth another attempt: Mercuryo-side failures and lost connections, never our own mistakes. */
    static boolean isTransient(Throwable failure) {
        if (failure instanceof MercuryoApiException e) {
            return e.retryable();
        }
        if (failure instanceof HttpTimeoutException) {
            return true;
        }
        return failure instanceof IOException && !(failure instanceof InterruptedIOException);
    }

    @Override
    public void close() {
        http.close();
    }
}
