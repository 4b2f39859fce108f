package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.RetryPolicyBuilder;
import dev.mercuryobridge.http.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Client for the Mercuryo Spend Card API, as the reconciler polls it.
 *
 * <p>User tokens are managed here: the first call for a user (keyed by e-mail) signs in with the
 * partner token, later calls reuse the {@code Sdk-User-Token}, a token within five minutes of
 * expiry is refreshed, and a call answered with 401000 signs in again once and is repeated once.
 * Safe for concurrent use; calls for one user never sign in twice at the same time.
 *
 * <p>Every HTTP call is bounded by {@link Settings#callTimeout()} and retried with jittered
 * exponential backoff on HTTP 5xx, code 500001 (and other 5xxxxx codes), timeouts and connection
 * failures; other 4xx answers are thrown at once. Failures surface as {@link MercuryoApiException}
 * when Mercuryo answered, and as {@link UncheckedIOException} when it did not (timeout, connection
 * refused) after the last attempt.
 */
public final class MercuryoClient implements AutoCloseable {

    /**
     * @param callTimeout    limit for one HTTP attempt, connect to last body byte
     * @param maxAttempts    attempts per call, the first included
     * @param initialBackoff delay before the first retry; doubles per retry, jittered by ±50%
     * @param maxBackoff     cap of that delay
     */
    public record Settings(Duration callTimeout, int maxAttempts, Duration initialBackoff, Duration maxBackoff) {

        public Settings {
            if (callTimeout == null || callTimeout.isNegative() || callTimeout.isZero()) {
                throw new IllegalArgumentException("callTimeout must be positive");
            }
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be at least 1");
            }
            if (initialBackoff == null || initialBackoff.isNegative() || initialBackoff.isZero()) {
                throw new IllegalArgumentException("initialBackoff must be positive");
            }
            if (maxBackoff == null || maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("maxBackoff must be at least initialBackoff");
            }
        }

        public static Settings defaults() {
            return new Settings(Duration.ofSeconds(10), 4, Duration.ofMillis(200), Duration.ofSeconds(5));
        }
    }

    /**
     * The end-user on whose behalf the client calls Mercuryo. Mercuryo identifies the user by e-mail at
     * sign-in; {@code ip} is the user's real IP address, sent as {@code B2B-User-Ip}, which Mercuryo
     * requires on every call made with a user token. {@code userUuid} is informational and may be null
     * before the first sign-in.
     */
    public record CardUser(String userUuid, String email, String ip) {

        public CardUser {
            if (email == null || email.isBlank()) {
                throw new IllegalArgumentException("email is required: Mercuryo signs users in by e-mail");
            }
            if (ip == null || ip.isBlank()) {
                throw new IllegalArgumentException("ip is required: Mercuryo rejects user calls without B2B-User-Ip");
            }
        }
    }

    /** A Mercuryo {@code Sdk-User-Token} and when it stops working. */
    public record UserSession(String token, String userUuid, Instant expiresAt) {

        public UserSession {
            if (token == null || token.isBlank()) {
                throw new IllegalArgumentException("token is required");
            }
            if (expiresAt == null) {
                throw new IllegalArgumentException("expiresAt is required");
            }
        }

        boolean expiresWithin(Duration margin, Instant now) {
            return !expiresAt.isAfter(now.plus(margin));
        }

        /** Never prints the token: sessions end up in log lines and exception messages. */
        @Override
        public String toString() {
            return "UserSession[token=***, userUuid=" + userUuid + ", expiresAt=" + expiresAt + "]";
        }
    }

    /**
     * A sell request (spend-card open with top-up, or crypto top-up) as Mercuryo reports it. Amounts
     * keep the scale Mercuryo sent; they are null when Mercuryo leaves them out. {@code cardId} is null
     * until a card is attached.
     */
    public record SellRequestStatus(
            String id,
            String status,
            String cardId,
            BigDecimal amount,
            String currency,
            BigDecimal fiatAmount,
            String fiatCurrency) {

        static SellRequestStatus from(String id, JsonNode data) {
            // The answer has no id of its own: it is the one asked for.
            JsonNode request = data.path("amounts").path("request");
            return new SellRequestStatus(
                    id,
                    Fields.requiredText(data, "status"),
                    Fields.text(data, "card_id"),
                    Fields.decimal(request, "amount"),
                    Fields.text(request, "currency"),
                    Fields.decimal(request, "fiat_amount"),
                    Fields.text(request, "fiat_currency"));
        }
    }

    /** The user's spend card status (e.g. {@code active}); {@code cardId} is null when Mercuryo omits it. */
    public record CardStatus(String status, String cardId) {

        static CardStatus from(JsonNode data) {
            return new CardStatus(Fields.requiredText(data, "status"), Fields.text(data, "card_id"));
        }
    }

    /**
     * One line of the card's transaction list (e.g. type {@code TOP_UP}, status {@code CLEARED}).
     * Mercuryo gives these no id, so a reconciler matches them by type, amount, currency and time:
     * those four are never null (a listing without them fails as unusable); status and
     * counterpartyName may be.
     */
    public record CardTransaction(
            String type,
            String status,
            BigDecimal amount,
            String currency,
            Instant timestamp,
            String counterpartyName) {

        static CardTransaction from(JsonNode item) {
            return new CardTransaction(
                    Fields.requiredText(item, "type"),
                    Fields.text(item, "status"),
                    Fields.requiredDecimal(item, "amount"),
                    Fields.requiredText(item, "currency"),
                    Fields.requiredInstant(item, "timestamp"),
                    Fields.text(item, "counterparty_name"));
        }
    }

    /** The card balance, with the scale Mercuryo sent ({@code 90.00} stays {@code 90.00}). */
    public record Balance(BigDecimal fiatAmount, String fiatCurrency) {

        static Balance from(JsonNode data) {
            return new Balance(Fields.requiredDecimal(data, "fiat_amount"), Fields.requiredText(data, "fiat_currency"));
        }
    }

    private static final Logger log = LoggerFactory.getLogger(MercuryoClient.class);

    static final String SIGN_IN = "/sdk-partner/user/sign-in-no-verify";
    static final String REFRESH = "/sdk-partner/user/refresh-token";
    static final String SELL_REQUEST = "/sdk-partner/spend/cards/sell-request/";
    static final String CARD_STATUS = "/sdk-partner/spend/cards/status";
    static final String TRANSACTIONS = "/sdk-partner/spend/cards/transactions";
    static final String BALANCE = "/sdk-partner/spend/cards/balance";

    /** Refresh this long before expiry, so a token never dies between our check and Mercuryo's. */
    static final Duration REFRESH_MARGIN = Duration.ofMinutes(5);
    /** Mercuryo's documented production lifetime, assumed when an answer does not state one. */
    static final Duration DEFAULT_TOKEN_LIFETIME = Duration.ofHours(24);
    static final int PAGE_SIZE = 50;
    /** 500,000 transactions: far beyond one card, so reaching it means the server is looping. */
    static final int MAX_PAGES = 10_000;
    private static final int BODY_EXCERPT = 200;

    private final String baseUrl;
    private final String partnerToken;
    private final Settings settings;
    private final HttpClient http;
    private final FailsafeExecutor<Answer> retrying;
    private final ConcurrentHashMap<String, SessionSlot> sessions = new ConcurrentHashMap<>();

    /**
     * @param baseUrl      Mercuryo API root including any version prefix, e.g.
     *                     {@code https://sandbox-api.mrcr.io/v1.6}; endpoint paths are appended to it
     * @param partnerToken the {@code Sdk-Partner-Token}, used only for sign-in. May be empty, so the
     *                     app starts without one; every sign-in then fails with IllegalStateException
     */
    public MercuryoClient(URI baseUrl, String partnerToken, Settings settings) {
        String scheme = baseUrl.getScheme();
        if (!"https".equalsIgnoreCase(scheme) && !"http".equalsIgnoreCase(scheme)) {
            throw new IllegalArgumentException("baseUrl must be http(s): " + baseUrl);
        }
        String base = baseUrl.toString();
        this.baseUrl = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        this.partnerToken = partnerToken == null ? "" : partnerToken.strip();
        this.settings = settings;
        this.http = HttpClient.newBuilder().connectTimeout(settings.callTimeout()).build();
        this.retrying = Failsafe.with(retryPolicy(settings));
    }

    /** Signs the user in with the partner token (creating the Mercuryo account if new) and caches the session. */
    public UserSession signIn(CardUser user) {
        SessionSlot slot = slot(user);
        slot.lock.lock();
        try {
            slot.session = fetchSignIn(user);
            return slot.session;
        } finally {
            slot.lock.unlock();
        }
    }

    /** Exchanges the session's token for a new one and caches it. A 401000 here is thrown, not handled. */
    public UserSession refresh(CardUser user, UserSession session) {
        SessionSlot slot = slot(user);
        slot.lock.lock();
        try {
            slot.session = fetchRefresh(user, session);
            return slot.session;
        } finally {
            slot.lock.unlock();
        }
    }

    public SellRequestStatus sellRequestStatus(CardUser user, String sellRequestId) {
        if (sellRequestId == null || sellRequestId.isBlank()) {
            throw new IllegalArgumentException("sellRequestId is required");
        }
        String path = SELL_REQUEST + encodePathSegment(sellRequestId) + "/status";
        return parse(userGet(user, path), data -> SellRequestStatus.from(sellRequestId, data));
    }

    public CardStatus cardStatus(CardUser user) {
        return parse(userGet(user, CARD_STATUS), CardStatus::from);
    }

    /**
     * Every transaction of the user's card, in Mercuryo's order, reading all pages. Throws
     * {@link MercuryoApiException} (code 200000) if Mercuryo repeats a cursor or the pages never end.
     */
    public List<CardTransaction> cardTransactions(CardUser user) {
        List<CardTransaction> all = new ArrayList<>();
        Set<String> seenCursors = new HashSet<>();
        String cursor = null;
        for (int page = 1; page <= MAX_PAGES; page++) {
            String path = TRANSACTIONS + "?limit=" + PAGE_SIZE
                    + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
            Answer answer = userGet(user, path);
            String next = parse(answer, data -> {
                JsonNode items = data.path("items");
                if (!items.isMissingNode() && !items.isNull() && !items.isArray()) {
                    throw new IllegalArgumentException("field 'items' is not a list");
                }
                for (JsonNode item : items) {
                    all.add(CardTransaction.from(item));
                }
                return Fields.text(data.path("pagination"), "next_cursor");
            });
            if (next == null) {
                return List.copyOf(all);
            }
            if (!seenCursors.add(next)) {
                throw unusable(answer, "pagination cursor repeated on page " + page + ": Mercuryo is looping");
            }
            cursor = next;
        }
        throw new MercuryoApiException(200, 200_000,
                "GET " + TRANSACTIONS + ": more than " + MAX_PAGES + " pages; Mercuryo pagination does not end");
    }

    public Balance cardBalance(CardUser user) {
        return parse(userGet(user, BALANCE), Balance::from);
    }

    /** Releases the HTTP client; calls in flight are allowed to finish. */
    @Override
    public void close() {
        http.close();
    }

    // ---- sessions -------------------------------------------------------------------------------

    /** One per user; the lock makes concurrent callers share a sign-in instead of racing. */
    private static final class SessionSlot {
        final ReentrantLock lock = new ReentrantLock();
        volatile UserSession session;
    }

    private SessionSlot slot(CardUser user) {
        return sessions.computeIfAbsent(user.email(), email -> new SessionSlot());
    }

    private UserSession usableSession(CardUser user) {
        SessionSlot slot = slot(user);
        UserSession current = slot.session;
        if (current != null && !current.expiresWithin(REFRESH_MARGIN, Instant.now())) {
            return current;
        }
        slot.lock.lock();
        try {
            current = slot.session;   // another thread may have renewed it while we waited
            if (current == null) {
                slot.session = fetchSignIn(user);
            } else if (current.expiresWithin(REFRESH_MARGIN, Instant.now())) {
                slot.session = refreshOrSignIn(user, current);
            }
            return slot.session;
        } finally {
            slot.lock.unlock();
        }
    }

    private UserSession refreshOrSignIn(CardUser user, UserSession expiring) {
        try {
            return fetchRefresh(user, expiring);
        } catch (MercuryoApiException e) {
            if (e.code() != MercuryoApiException.AUTHORIZATION_FAILED) {
                throw e;
            }
            log.debug("Mercuryo refused to refresh the token of user {}; signing in again", user.userUuid());
            return fetchSignIn(user);
        }
    }

    /**
     * Replaces a session Mercuryo rejected. If another thread already replaced it, that newer
     * session is used instead of signing in a second time.
     */
    private UserSession replaceRejected(CardUser user, UserSession rejected) {
        SessionSlot slot = slot(user);
        slot.lock.lock();
        try {
            if (slot.session == null || slot.session.token().equals(rejected.token())) {
                slot.session = fetchSignIn(user);
            }
            return slot.session;
        } finally {
            slot.lock.unlock();
        }
    }

    private UserSession fetchSignIn(CardUser user) {
        if (partnerToken.isEmpty()) {
            throw new IllegalStateException("no Mercuryo partner token is configured: users cannot be signed in");
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("accept", true);   // the user accepted Mercuryo's Terms of Service on our front end
        body.put("email", user.email());
        byte[] bytes;
        try {
            bytes = Json.MAPPER.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest request = request(SIGN_IN)
                .header("Sdk-Partner-Token", partnerToken)
                .header("B2B-User-Ip", user.ip())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                .build();
        log.debug("signing in Mercuryo user {}", user.userUuid());
        return parse(execute(request), this::session);
    }

    private UserSession fetchRefresh(CardUser user, UserSession session) {
        log.debug("refreshing the Mercuryo token of user {}, expiring at {}", user.userUuid(), session.expiresAt());
        return parse(execute(userRequest(user, session, REFRESH)), this::session);
    }

    private UserSession session(JsonNode data) {
        String token = Fields.requiredText(data, "bearer_token");
        JsonNode timeout = data.get("timeout");
        Duration lifetime = timeout == null || timeout.isNull()
                ? DEFAULT_TOKEN_LIFETIME
                : Duration.ofSeconds(Fields.requiredDecimal(data, "timeout").longValue());
        return new UserSession(token, Fields.text(data, "user_uuid"), Instant.now().plus(lifetime));
    }

    // ---- HTTP -----------------------------------------------------------------------------------

    /** A parsed 2xx answer, with what produced it, for messages. */
    private record Answer(String call, int httpStatus, JsonNode body) {}

    /** A GET with the user's token; on 401000, one fresh sign-in and one repeat. */
    private Answer userGet(CardUser user, String pathAndQuery) {
        UserSession session = usableSession(user);
        try {
            return execute(userRequest(user, session, pathAndQuery));
        } catch (MercuryoApiException e) {
            if (e.code() != MercuryoApiException.AUTHORIZATION_FAILED) {
                throw e;
            }
            // A token can die before its expiry (a sign-out elsewhere, a revocation): one new
            // sign-in is cheap. A second 401000 means something a new token cannot fix.
            log.debug("Mercuryo rejected the token of user {} on {}; signing in again", user.userUuid(), pathAndQuery);
            UserSession fresh = replaceRejected(user, session);
            return execute(userRequest(user, fresh, pathAndQuery));
        }
    }

    private HttpRequest userRequest(CardUser user, UserSession session, String pathAndQuery) {
        return request(pathAndQuery)
                .header("Sdk-User-Token", session.token())
                .header("B2B-User-Ip", user.ip())
                .GET()
                .build();
    }

    private HttpRequest.Builder request(String pathAndQuery) {
        return HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery))
                .timeout(settings.callTimeout())
                .header("Accept", "application/json");
    }

    /** One call with retries. Transport failures come out unchecked once attempts are spent. */
    private Answer execute(HttpRequest request) {
        String call = request.method() + " " + request.uri().getRawPath();
        try {
            return retrying.get(() -> attempt(request, call));
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
    private Answer attempt(HttpRequest request, String call) throws IOException, InterruptedException {
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
        return new Answer(call, response.statusCode(), interpret(call, response.statusCode(), response.body()));
    }

    /** The JSON of a successful answer; anything else becomes {@link MercuryoApiException}. */
    private static JsonNode interpret(String call, int status, byte[] body) {
        JsonNode json = readJson(body);
        if (status < 200 || status > 299) {
            throw failure(call, status, json, body);
        }
        if (json == null || !json.isObject()) {
            throw new MercuryoApiException(status, status * 1000,
                    call + ": HTTP " + status + " answer is not a JSON object: " + excerpt(body));
        }
        // Some gateways answer 200 with an error body; its code decides, as it would on a 4xx/5xx.
        Integer code = integer(json.get("code"));
        Integer bodyStatus = integer(json.get("status"));
        if ((code != null && code >= 400_000) || (bodyStatus != null && bodyStatus >= 400)) {
            throw failure(call, status, json, body);
        }
        return json;
    }

    private static MercuryoApiException failure(String call, int status, JsonNode json, byte[] body) {
        if (json == null || !json.isObject()) {
            return new MercuryoApiException(status, status * 1000,
                    call + ": HTTP " + status + " with a non-JSON body: " + excerpt(body));
        }
        Integer code = integer(json.get("code"));
        int effective = code != null ? code : status * 1000;
        String message = Fields.text(json, "message");
        StringBuilder text = new StringBuilder(call).append(": HTTP ").append(status)
                .append(", code ").append(effective).append(": ")
                .append(message != null ? Fields.abbreviate(message, BODY_EXCERPT) : excerpt(body));
        JsonNode data = json.get("data");
        if (data != null && !data.isNull() && !data.isEmpty()) {
            // 400001 "check the data field": the details are what someone debugging needs.
            text.append(" (data: ").append(Fields.abbreviate(data.toString(), BODY_EXCERPT)).append(')');
        }
        return new MercuryoApiException(status, effective, text.toString());
    }

    private static JsonNode readJson(byte[] body) {
        if (body == null || body.length == 0) {
            return null;
        }
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            return json == null || json.isMissingNode() ? null : json;
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

    private static String excerpt(byte[] body) {
        if (body == null || body.length == 0) {
            return "(empty body)";
        }
        return Fields.abbreviate(new String(body, StandardCharsets.UTF_8), BODY_EXCERPT);
    }

    /** Maps the answer's {@code data} object; a field that cannot be read fails the call, unretried. */
    private static <T> T parse(Answer answer, Function<JsonNode, T> mapper) {
        JsonNode data = answer.body().get("data");
        if (data == null || !data.isObject()) {
            throw unusable(answer, "no 'data' object in the answer");
        }
        try {
            return mapper.apply(data);
        } catch (IllegalArgumentException | DateTimeException e) {
            throw unusable(answer, e.getMessage());
        }
    }

    private static MercuryoApiException unusable(Answer answer, String why) {
        return new MercuryoApiException(answer.httpStatus(), answer.httpStatus() * 1000,
                answer.call() + ": unusable answer: " + why);
    }

    private static RetryPolicy<Answer> retryPolicy(Settings settings) {
        RetryPolicyBuilder<Answer> builder = RetryPolicy.<Answer>builder()
                .handleIf(MercuryoClient::isTransient)
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

    /** A path segment: URLEncoder is for forms, where a space becomes '+', which a path keeps literally. */
    private static String encodePathSegment(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
