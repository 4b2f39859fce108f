package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.json.JavalinJackson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A real HTTP server that answers like Mercuryo's Spend Card API, for integration tests and dev
 * mode: partner sign-in, token refresh, sell-request status, card status, the card ledger with
 * cursor pagination, and the card balance. Its answers have exactly the shapes of the API text
 * ({@code ../shared/reference/mercuryo-spend-card-api.txt}): the {@code {"data":...,"status":"200"}}
 * envelope, the documented fields and no others, and errors as
 * {@code {"status":<http>,"code":<six digits>,"message":...}}. Where the text is silent the
 * simulator assumes, and says so where it does: the query parameter names {@code limit} and
 * {@code cursor}, 404/404000 for a sell request the user does not have, 400001 for a user call
 * without {@code B2B-User-Ip}.
 *
 * <p>A path the API does not have (a wrong base path, say) is answered like a web server or proxy
 * in front of Mercuryo would: 404 with an HTML page, not Mercuryo's JSON. A known path with the
 * wrong method is Mercuryo's 405/405000.
 *
 * <p>State lives in memory and can be seeded and changed from Java ({@link #addUser},
 * {@link #postCardTransaction}, {@link #authorize}, {@link #createSellRequest}, ...). Faults can be
 * switched on from Java ({@link #failWith}, {@link #answerRaw}, {@link #blacklistIp},
 * {@link #loopPagination}, ...) and a few with {@code POST /_sim/faults}, so a client's retry,
 * re-authentication, timeout and misconfiguration paths can be exercised. Every request is
 * recorded ({@link #requests()}). Binds to 127.0.0.1 only.
 */
public final class MercuryoSimulator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MercuryoSimulator.class);

    public static final String SIGN_IN = "/sdk-partner/user/sign-in-no-verify";
    public static final String REFRESH_TOKEN = "/sdk-partner/user/refresh-token";
    public static final String SELL_REQUEST_STATUS = "/sdk-partner/spend/cards/sell-request/{id}/status";
    public static final String CARD_STATUS = "/sdk-partner/spend/cards/status";
    public static final String CARD_TRANSACTIONS = "/sdk-partner/spend/cards/transactions";
    public static final String CARD_BALANCE = "/sdk-partner/spend/cards/balance";
    /** The API endpoints the simulator serves (path templates, without the base path). */
    public static final List<String> ENDPOINTS =
            List.of(SIGN_IN, REFRESH_TOKEN, SELL_REQUEST_STATUS, CARD_STATUS, CARD_TRANSACTIONS, CARD_BALANCE);
    /**
     * Dev-mode control of the fault switches, at the server root (never under the base path);
     * never subject to the faults itself, never recorded.
     */
    public static final String FAULTS = "/_sim/faults";

    public static final String PARTNER_TOKEN_HEADER = "Sdk-Partner-Token";
    public static final String USER_TOKEN_HEADER = "Sdk-User-Token";
    public static final String USER_IP_HEADER = "B2B-User-Ip";

    public static final int DEFAULT_PAGE_LIMIT = 50;
    public static final int MAX_PAGE_LIMIT = 100;
    /** A hung request answers 500 after this long even if nobody clears the fault. */
    public static final Duration HANG_LIMIT = Duration.ofSeconds(60);
    /** The request log keeps this many most recent requests. */
    public static final int MAX_RECORDED_REQUESTS = 50_000;
    /** What a web server or proxy answers for a path it has nothing at (nginx's page). */
    public static final String NOT_FOUND_PAGE = """
            <html>
            <head><title>404 Not Found</title></head>
            <body>
            <center><h1>404 Not Found</h1></center>
            <hr><center>nginx</center>
            </body>
            </html>
            """;
    static final long TOKEN_TIMEOUT_SECONDS = 86_400;
    static final String CARD_ACTIVE = "active";
    static final String EUR = "EUR";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder CURSOR_ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Pattern SELL_REQUEST_STATUS_PATH = Pattern.compile("/sdk-partner/spend/cards/sell-request/[^/]+/status");
    private static final Pattern BASE_PATH = Pattern.compile("(/[A-Za-z0-9._~-]+)*");
    private static final String RAW_ANSWER = "sim.rawAnswer";
    private static final String MERCURYO_ANSWER = "sim.mercuryoAnswer";

    /**
     * One request as the simulator received it, faulted ones included.
     *
     * @param endpoint the path template it matched ({@link #ENDPOINTS}), or null for a path the API
     *                 does not have
     * @param path     the path without the base path (as received when it is outside the base path)
     * @param query    query parameters, the first value of each
     * @param headers  request headers; {@code get} ignores case
     */
    public record RecordedRequest(String method, String endpoint, String path, Map<String, String> query,
                                  Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name);
        }
    }

    private final String partnerToken;
    private final String basePath;
    private final Javalin server;

    // All simulated Mercuryo state, guarded by `lock`. One lock keeps multi-part changes (a
    // ledger item and the balance it moves) atomic for concurrent API readers.
    private final Object lock = new Object();
    private final Map<String, User> usersByEmail = new LinkedHashMap<>();
    private final Map<String, User> usersByUuid = new LinkedHashMap<>();
    private final Map<String, User> usersByToken = new ConcurrentHashMap<>();
    private final Map<String, SellRequest> sellRequests = new LinkedHashMap<>();
    private int ipsHandedOut;

    private final Map<String, LongAdder> requestCounts = new ConcurrentHashMap<>();
    private final LongAdder signIns = new LongAdder();
    private final ArrayDeque<RecordedRequest> recorded = new ArrayDeque<>();

    // Fault switches, guarded by `faultLock`, which hung requests wait on.
    private final Object faultLock = new Object();
    private final Set<String> hangs = new LinkedHashSet<>();
    private final List<ScriptedError> scriptedErrors = new ArrayList<>();
    private final List<RawAnswer> rawAnswers = new ArrayList<>();
    private final Set<String> blacklistedIps = new LinkedHashSet<>();
    private final Set<String> loopingPagination = new LinkedHashSet<>();
    private final Set<String> emptyPages = new LinkedHashSet<>();
    private final AtomicInteger emptyPagesServed = new AtomicInteger();
    private final AtomicInteger failNext = new AtomicInteger();
    private volatile Duration slow = Duration.ZERO;
    private volatile boolean closed;

    private MercuryoSimulator(String partnerToken, String basePath) {
        this.partnerToken = partnerToken;
        this.basePath = basePath;
        this.server = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            // Hung requests park their thread; virtual threads make that free.
            config.concurrency.useVirtualThreads = true;
            // A known path with the wrong method is Mercuryo's documented 405000, not a 404 page.
            config.http.prefer405over404 = true;
            config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
            config.routes.before(this::record);
            config.routes.post(basePath + SIGN_IN, api(SIGN_IN, this::signIn));
            config.routes.get(basePath + REFRESH_TOKEN, api(REFRESH_TOKEN, this::refreshToken));
            config.routes.get(basePath + SELL_REQUEST_STATUS, api(SELL_REQUEST_STATUS, this::sellRequestStatus));
            config.routes.get(basePath + CARD_STATUS, api(CARD_STATUS, this::cardStatus));
            config.routes.get(basePath + CARD_TRANSACTIONS, api(CARD_TRANSACTIONS, this::cardTransactions));
            config.routes.get(basePath + CARD_BALANCE, api(CARD_BALANCE, this::cardBalance));
            config.routes.post(FAULTS, this::setFaults);
            config.routes.get(FAULTS, ctx -> ctx.json(faultsView()));
            config.routes.exception(SimError.class, (e, ctx) -> error(ctx, e.status, e.code, e.getMessage()));
            config.routes.exception(Exception.class, (e, ctx) -> {
                log.error("simulator failed on {} {}", ctx.method(), ctx.path(), e);
                error(ctx, 500, 500001, "simulator error: " + e);
            });
            config.routes.error(404, ctx -> {
                // Mercuryo's own 404s (404000) and raw answers stay; anything else is a path no
                // Mercuryo endpoint is at, answered by the web server in front of it.
                if (ctx.attribute(RAW_ANSWER) == null && ctx.attribute(MERCURYO_ANSWER) == null) {
                    ctx.status(404).contentType("text/html; charset=utf-8").result(NOT_FOUND_PAGE);
                }
            });
            config.routes.error(405, ctx -> {
                if (ctx.attribute(RAW_ANSWER) == null) {
                    error(ctx, 405, 405000, "Method Not Allowed");
                }
            });
        });
    }

    /**
     * Starts a simulator on 127.0.0.1 serving the API at the server root.
     *
     * @param port         0 picks a free port
     * @param partnerToken the {@code Sdk-Partner-Token} sign-in and refresh require
     */
    public static MercuryoSimulator start(int port, String partnerToken) {
        return start(port, partnerToken, "");
    }

    /**
     * Starts a simulator on 127.0.0.1 serving every API route under {@code basePath} (e.g.
     * {@code /v1.6}, as the real API is versioned); anything outside it is a 404 page.
     */
    public static MercuryoSimulator start(int port, String partnerToken, String basePath) {
        if (partnerToken == null || partnerToken.isBlank()) {
            throw new IllegalArgumentException("a partner token is required");
        }
        String prefix = basePath == null ? "" : basePath;
        if (!BASE_PATH.matcher(prefix).matches() || prefix.equals("/")) {
            throw new IllegalArgumentException("basePath must be empty or like /v1.6 (no trailing slash): " + basePath);
        }
        MercuryoSimulator sim = new MercuryoSimulator(partnerToken, prefix);
        sim.server.start("127.0.0.1", port);
        log.info("Mercuryo simulator listening on {}", sim.baseUrl());
        return sim;
    }

    /** The API's base URL, base path included: what a client is configured with. */
    public URI baseUrl() {
        return URI.create(rootUrl() + basePath);
    }

    /** The server root, without the base path (the faults endpoint lives here). */
    public URI rootUrl() {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    /** {@link #baseUrl()} followed by {@code pathAndQuery}, e.g. {@code url(CARD_BALANCE)}. */
    public URI url(String pathAndQuery) {
        return URI.create(baseUrl() + pathAndQuery);
    }

    public String basePath() {
        return basePath;
    }

    public String partnerToken() {
        return partnerToken;
    }

    // ---------------------------------------------------------------- state, from Java

    /**
     * Creates a user with a random uuid, the next IP of the documentation ranges and an active
     * card with balance 0. A user who only signed in so far (Mercuryo signs unknown e-mails up)
     * keeps their uuid and gets the card.
     */
    public CardUserRef addUser(String email) {
        return openCard(email, null, newId(), null);
    }

    /** Creates a user with the given uuid and an active card with the given id and balance 0. */
    public CardUserRef addUser(String email, String userUuid, String cardId) {
        return openCard(email, Objects.requireNonNull(userUuid, "userUuid"), cardId, null);
    }

    /** As {@link #addUser(String, String, String)}, with the user's IP address. */
    public CardUserRef addUser(String email, String userUuid, String cardId, String ip) {
        return openCard(email, Objects.requireNonNull(userUuid, "userUuid"), cardId, Objects.requireNonNull(ip, "ip"));
    }

    private CardUserRef openCard(String email, String userUuid, String cardId, String ip) {
        Objects.requireNonNull(cardId, "cardId");
        String key = normalizeEmail(email);
        synchronized (lock) {
            User user = usersByEmail.get(key);
            if (user != null && (user.card != null || userUuid != null && !userUuid.equals(user.uuid))) {
                throw new IllegalStateException("user " + key + " exists already");
            }
            if (user == null) {
                String uuid = userUuid != null ? userUuid : UUID.randomUUID().toString();
                if (usersByUuid.containsKey(uuid)) {
                    throw new IllegalStateException("user uuid " + uuid + " exists already");
                }
                user = new User(uuid, key);
                usersByEmail.put(key, user);
                usersByUuid.put(uuid, user);
            }
            user.ip = ip != null ? ip : nextIp();
            user.card = new Card(cardId);
            return user.ref();
        }
    }

    /** 203.0.113.1..254, then 198.51.100.1..254, then round again (RFC 5737 documentation ranges). */
    private String nextIp() {
        int n = ipsHandedOut++ % 508;
        return n < 254 ? "203.0.113." + (n + 1) : "198.51.100." + (n - 253);
    }

    public Optional<CardUserRef> user(String email) {
        synchronized (lock) {
            User user = usersByEmail.get(normalizeEmail(email));
            return user == null || user.card == null ? Optional.empty() : Optional.of(user.ref());
        }
    }

    /** Appends ledger items (oldest first) without touching the balance; see {@link #setBalance}. */
    public void addCardTransactions(String email, List<CardTransaction> items) {
        synchronized (lock) {
            cardOf(email).ledger.addAll(items);
        }
    }

    /**
     * Appends one ledger item and moves the balance by its {@link CardTransaction#balanceEffect()},
     * atomically (what Mercuryo does when a top-up clears). Returns the new balance.
     */
    public BigDecimal postCardTransaction(String email, CardTransaction item) {
        synchronized (lock) {
            Card card = cardOf(email);
            card.ledger.add(item);
            card.balance = card.balance.add(item.balanceEffect());
            return card.balance;
        }
    }

    /**
     * A card payment is authorized: appends the item as {@code AUTHORIZED} and debits the
     * balance. Returns the stored item.
     */
    public CardTransaction authorize(String email, CardTransaction item) {
        if (item.credits()) {
            throw new IllegalArgumentException("only a debit (e.g. PURCHASE) is authorized: " + item);
        }
        CardTransaction held = item.withStatus(CardTransaction.AUTHORIZED);
        synchronized (lock) {
            Card card = cardOf(email);
            card.ledger.add(held);
            card.balance = card.balance.subtract(held.amount());
        }
        return held;
    }

    /**
     * The authorized item with the same (type, amount, currency, timestamp) clears: it turns
     * {@code CLEARED} in place; the balance was debited at authorization and stays.
     */
    public CardTransaction clear(String email, CardTransaction item) {
        synchronized (lock) {
            return settle(cardOf(email), item, CardTransaction.CLEARED);
        }
    }

    /**
     * The authorized item with the same (type, amount, currency, timestamp) is reversed: it turns
     * {@code REVERSED} in place and its amount goes back onto the balance.
     */
    public CardTransaction reverse(String email, CardTransaction item) {
        synchronized (lock) {
            Card card = cardOf(email);
            CardTransaction reversed = settle(card, item, CardTransaction.REVERSED);
            card.balance = card.balance.add(reversed.amount());
            return reversed;
        }
    }

    /** A card payment is declined: appends the item as {@code DECLINED}; the balance stays. */
    public CardTransaction decline(String email, CardTransaction item) {
        CardTransaction declined = item.withStatus(CardTransaction.DECLINED);
        synchronized (lock) {
            cardOf(email).ledger.add(declined);
        }
        return declined;
    }

    private static CardTransaction settle(Card card, CardTransaction item, String status) {
        for (int i = 0; i < card.ledger.size(); i++) {
            CardTransaction t = card.ledger.get(i);
            if (t.sameItemAs(item) && CardTransaction.AUTHORIZED.equals(t.status())) {
                CardTransaction settled = t.withStatus(status);
                card.ledger.set(i, settled);
                return settled;
            }
        }
        throw new IllegalStateException("no AUTHORIZED ledger item like " + item);
    }

    /** Overrides the balance, e.g. to create a drift between the ledger and the balance. */
    public void setBalance(String email, BigDecimal balance) {
        synchronized (lock) {
            cardOf(email).balance = balance;
        }
    }

    public BigDecimal balance(String email) {
        synchronized (lock) {
            return cardOf(email).balance;
        }
    }

    /** The card's ledger, oldest first (the API lists it newest first). */
    public List<CardTransaction> cardTransactions(String email) {
        synchronized (lock) {
            return List.copyOf(cardOf(email).ledger);
        }
    }

    /** A new top-up sell request in status {@code new} for the user's card, with generated ids. */
    public SellRequest createSellRequest(String email, String cryptoCurrency, BigDecimal cryptoAmount, BigDecimal fiatAmount) {
        CardUserRef user = user(email).orElseThrow(() -> new IllegalStateException("no card for " + email));
        return createSellRequest(new SellRequest(newId(), user.userUuid(), user.cardId(), "new", cryptoAmount,
                cryptoCurrency, fiatAmount, EUR, "tb1q" + HexFormat.of().toHexDigits(RANDOM.nextLong()), newId()));
    }

    /** Stores a sell request as given; its user and card must exist. */
    public SellRequest createSellRequest(SellRequest request) {
        synchronized (lock) {
            User user = usersByUuid.get(request.userUuid());
            if (user == null || user.card == null || !user.card.id.equals(request.cardId())) {
                throw new IllegalStateException("no user " + request.userUuid() + " with card " + request.cardId());
            }
            if (sellRequests.putIfAbsent(request.id(), request) != null) {
                throw new IllegalStateException("sell request " + request.id() + " exists already");
            }
            return request;
        }
    }

    public void setSellRequestStatus(String id, String status) {
        synchronized (lock) {
            SellRequest request = sellRequests.get(id);
            if (request == null) {
                throw new IllegalStateException("no sell request " + id);
            }
            sellRequests.put(id, request.withStatus(status));
        }
    }

    public Optional<SellRequest> sellRequest(String id) {
        synchronized (lock) {
            return Optional.ofNullable(sellRequests.get(id));
        }
    }

    // ---------------------------------------------------------------- counters and the request log

    /** Requests received on an endpoint (one of the path constants), faulted ones included. */
    public long requests(String endpoint) {
        LongAdder n = requestCounts.get(endpoint);
        return n == null ? 0 : n.sum();
    }

    /** Requests received per endpoint path constant, faulted ones included. */
    public Map<String, Long> requestCounts() {
        Map<String, Long> counts = new TreeMap<>();
        requestCounts.forEach((path, n) -> counts.put(path, n.sum()));
        return counts;
    }

    /** Successful sign-ins (each issued a new token). */
    public long signIns() {
        return signIns.sum();
    }

    /** Clears the counters and {@link #signIns()}; the request log stays (see {@link #clearRequests()}). */
    public void resetCounters() {
        requestCounts.clear();
        signIns.reset();
    }

    /**
     * Every request received, oldest first (the most recent {@link #MAX_RECORDED_REQUESTS}):
     * API calls, faulted ones and paths the API does not have; not the faults endpoint.
     */
    public List<RecordedRequest> requests() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    /** The recorded requests that matched {@code endpoint} (a path constant), oldest first. */
    public List<RecordedRequest> requestsTo(String endpoint) {
        return requests().stream().filter(r -> endpoint.equals(r.endpoint())).toList();
    }

    public void clearRequests() {
        synchronized (recorded) {
            recorded.clear();
        }
    }

    // ---------------------------------------------------------------- faults

    /** The next {@code n} API requests answer 500 with code 500001. */
    public void failNext(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0");
        }
        failNext.set(n);
    }

    /**
     * The next {@code times} requests to {@code endpoint} (a path constant) answer Mercuryo's error
     * {@code {"status":httpStatus,"code":code,"message":message}}, before any token check, e.g.
     * {@code failWith(SIGN_IN, 403, 403007, "There's another active transaction", 1)}.
     */
    public void failWith(String endpoint, int httpStatus, int code, String message, int times) {
        addScriptedError(endpoint, null, httpStatus, code, message, times);
    }

    /**
     * As {@link #failWith(String, int, int, String, int)}, for one user only: a sign-in with that
     * e-mail, or a call with a token issued to that user.
     */
    public void failWith(String endpoint, String email, int httpStatus, int code, String message, int times) {
        addScriptedError(endpoint, normalizeEmail(Objects.requireNonNull(email, "email")), httpStatus, code, message, times);
    }

    private void addScriptedError(String endpoint, String email, int httpStatus, int code, String message, int times) {
        requireEndpoint(endpoint);
        if (httpStatus < 400 || httpStatus > 599 || code < 100_000 || code > 999_999 || times < 1) {
            throw new IllegalArgumentException("expected a 4xx/5xx status, a six-digit code and times >= 1");
        }
        synchronized (faultLock) {
            scriptedErrors.add(new ScriptedError(endpoint, email, httpStatus, code, Objects.requireNonNull(message, "message"),
                    new AtomicInteger(times)));
        }
    }

    /**
     * The next {@code times} requests to {@code endpoint} get exactly this answer, not Mercuryo's
     * JSON: an HTML page, an empty 404, JSON under a wrong content type, a 200 whose body is not an
     * object. {@code contentType} null sends the server's default; {@code body} may be empty.
     */
    public void answerRaw(String endpoint, int httpStatus, String contentType, String body, int times) {
        requireEndpoint(endpoint);
        if (httpStatus < 100 || httpStatus > 599 || times < 1) {
            throw new IllegalArgumentException("expected an HTTP status and times >= 1");
        }
        synchronized (faultLock) {
            rawAnswers.add(new RawAnswer(endpoint, httpStatus, contentType, Objects.requireNonNull(body, "body"),
                    new AtomicInteger(times)));
        }
    }

    /** Requests with this {@code B2B-User-Ip} answer 403/403020 (IP is blacklisted). */
    public void blacklistIp(String ip) {
        synchronized (faultLock) {
            blacklistedIps.add(Objects.requireNonNull(ip, "ip").strip());
        }
    }

    /**
     * The user's card transaction pages send the client back where it was: every page's
     * {@code next_cursor} is the cursor of that same page, so the second page repeats the first
     * and its {@code next_cursor} repeats the cursor just sent.
     */
    public void loopPagination(String email) {
        synchronized (faultLock) {
            loopingPagination.add(normalizeEmail(email));
        }
    }

    /** The user's card transaction pages are all empty ({@code items: []}) with a new, non-null cursor each. */
    public void emptyPagesWithCursor(String email) {
        synchronized (faultLock) {
            emptyPages.add(normalizeEmail(email));
        }
    }

    /** Every API answer is delayed by {@code delay} until {@link #clearFaults()}. */
    public void slow(Duration delay) {
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0");
        }
        slow = delay;
    }

    /**
     * API requests whose path (without the base path) starts with {@code pathPrefix} get no answer
     * until the fault is cleared (then they are answered normally), or until {@link #HANG_LIMIT}
     * (then 500/500001).
     */
    public void hang(String pathPrefix) {
        synchronized (faultLock) {
            hangs.add(pathPrefix);
        }
    }

    /** Every token issued so far answers 401/401000 from now on; sign-in issues fresh ones. */
    public void expireAllTokens() {
        usersByToken.clear();
    }

    /** Turns every fault off and releases hung requests; expired tokens stay expired. */
    public void clearFaults() {
        failNext.set(0);
        slow = Duration.ZERO;
        synchronized (faultLock) {
            scriptedErrors.clear();
            rawAnswers.clear();
            blacklistedIps.clear();
            loopingPagination.clear();
            emptyPages.clear();
            hangs.clear();
            faultLock.notifyAll();
        }
    }

    @Override
    public void close() {
        closed = true;
        clearFaults();
        server.stop();
    }

    // ---------------------------------------------------------------- HTTP

    private void record(Context ctx) {
        String fullPath = ctx.path();
        if (fullPath.startsWith("/_sim/")) {
            return;
        }
        String path = fullPath.startsWith(basePath + "/") ? fullPath.substring(basePath.length()) : fullPath;
        String endpoint = fullPath.startsWith(basePath + "/") ? endpointOf(path) : null;
        Map<String, String> query = new LinkedHashMap<>();
        ctx.queryParamMap().forEach((k, v) -> query.put(k, v.isEmpty() ? "" : v.getFirst()));
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        headers.putAll(ctx.headerMap());
        RecordedRequest request = new RecordedRequest(ctx.method().name(), endpoint, path,
                Collections.unmodifiableMap(query), Collections.unmodifiableMap(headers),
                new String(ctx.bodyAsBytes(), StandardCharsets.UTF_8));
        synchronized (recorded) {
            if (recorded.size() == MAX_RECORDED_REQUESTS) {
                recorded.removeFirst();
            }
            recorded.addLast(request);
        }
    }

    private static String endpointOf(String path) {
        if (SELL_REQUEST_STATUS_PATH.matcher(path).matches()) {
            return SELL_REQUEST_STATUS;
        }
        return ENDPOINTS.contains(path) ? path : null;
    }

    /**
     * Wraps an API handler with the request counter and the fault switches, in this order: hang,
     * slow, failNext, answerRaw, failWith, blacklisted IP; then the endpoint's own checks.
     */
    private Handler api(String endpoint, Handler handler) {
        return ctx -> {
            requestCounts.computeIfAbsent(endpoint, k -> new LongAdder()).increment();
            awaitHangs(ctx.path().substring(basePath.length()));
            Duration delay = slow;
            if (!delay.isZero()) {
                Thread.sleep(delay.toMillis());
            }
            if (failNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                throw new SimError(500, 500001, "simulated failure (failNext)");
            }
            RawAnswer raw = take(rawAnswers, a -> a.endpoint.equals(endpoint), a -> a.remaining);
            if (raw != null) {
                ctx.attribute(RAW_ANSWER, true);
                ctx.status(raw.status);
                if (raw.contentType != null) {
                    ctx.contentType(raw.contentType);
                }
                ctx.result(raw.body);
                return;
            }
            String email = requestUser(endpoint, ctx);
            ScriptedError scripted = take(scriptedErrors,
                    e -> e.endpoint.equals(endpoint) && (e.email == null || e.email.equals(email)), e -> e.remaining);
            if (scripted != null) {
                throw new SimError(scripted.status, scripted.code, scripted.message);
            }
            String ip = ctx.header(USER_IP_HEADER);
            boolean blacklisted;
            synchronized (faultLock) {
                blacklisted = ip != null && blacklistedIps.contains(ip.strip());
            }
            if (blacklisted) {
                throw new SimError(403, 403020, "IP is blacklisted");
            }
            handler.handle(ctx);
        };
    }

    /** Takes one use of the first matching fault, removing it when used up; null if none matches. */
    private <T> T take(List<T> faults, Predicate<T> matches, Function<T, AtomicInteger> remaining) {
        synchronized (faultLock) {
            for (Iterator<T> it = faults.iterator(); it.hasNext(); ) {
                T fault = it.next();
                if (matches.test(fault)) {
                    if (remaining.apply(fault).decrementAndGet() <= 0) {
                        it.remove();
                    }
                    return fault;
                }
            }
            return null;
        }
    }

    /** Whose request this is, for per-user faults: the sign-in e-mail, or the token's user; else null. */
    private String requestUser(String endpoint, Context ctx) {
        if (SIGN_IN.equals(endpoint)) {
            try {
                JsonNode email = Json.MAPPER.readTree(ctx.bodyAsBytes()).get("email");
                return email != null && email.isTextual() ? normalizeEmail(email.textValue()) : null;
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
        String token = ctx.header(USER_TOKEN_HEADER);
        User user = token == null ? null : usersByToken.get(token);
        return user == null ? null : user.email;
    }

    private void awaitHangs(String path) throws InterruptedException {
        synchronized (faultLock) {
            long deadline = System.nanoTime() + HANG_LIMIT.toNanos();
            while (!closed && hangs.stream().anyMatch(path::startsWith)) {
                long remainingMillis = (deadline - System.nanoTime()) / 1_000_000;
                if (remainingMillis <= 0) {
                    throw new SimError(500, 500001, "simulated hang lasted " + HANG_LIMIT);
                }
                faultLock.wait(remainingMillis);
            }
        }
        if (closed) {
            throw new SimError(500, 500001, "simulator stopped");
        }
    }

    private void signIn(Context ctx) {
        requirePartnerToken(ctx);
        JsonNode body = readBody(ctx);
        JsonNode accept = body.get("accept");
        boolean accepted = accept != null && (accept.isBoolean() ? accept.booleanValue() : "true".equals(accept.asText()));
        if (!accepted) {
            throw new SimError(400, 400001, "Validation error: the Terms of Service must be accepted (\"accept\": true)");
        }
        JsonNode email = body.get("email");
        if (email == null || !email.isTextual() || !email.textValue().contains("@") || email.textValue().isBlank()) {
            throw new SimError(400, 400001, "Validation error: \"email\" is required");
        }
        String token = newToken();
        User user;
        synchronized (lock) {
            String key = normalizeEmail(email.textValue());
            // Mercuryo signs up an unknown e-mail on the spot; the card is opened separately.
            user = usersByEmail.computeIfAbsent(key, k -> {
                User created = new User(UUID.randomUUID().toString(), k);
                usersByUuid.put(created.uuid, created);
                return created;
            });
        }
        usersByToken.put(token, user);
        signIns.increment();
        ok(ctx, new SignInData(token, user.uuid));
    }

    /** The API text lists refresh among the calls that need the partner token; it needs the user's too. */
    private void refreshToken(Context ctx) {
        requirePartnerToken(ctx);
        User user = authenticate(ctx);
        String token = newToken();
        usersByToken.put(token, user);
        ok(ctx, new RefreshData(token, TOKEN_TIMEOUT_SECONDS, user.uuid));
    }

    private void sellRequestStatus(Context ctx) {
        User user = authenticate(ctx);
        String id = ctx.pathParam("id");
        SellRequest request;
        synchronized (lock) {
            request = sellRequests.get(id);
        }
        // Another user's request is as invisible as a missing one. The API text documents no
        // "not found" for this endpoint; 404000 is our assumption.
        if (request == null || !request.userUuid().equals(user.uuid)) {
            throw new SimError(404, 404000, "Sell request not found");
        }
        ok(ctx, new SellRequestStatusData(request.address(),
                new Amounts(new RequestAmounts(crypto(request.cryptoAmount()), request.cryptoCurrency(),
                        money(request.fiatAmount()), request.fiatCurrency())),
                request.cardId(), List.of(), request.status()));
    }

    private void cardStatus(Context ctx) {
        User user = authenticate(ctx);
        synchronized (lock) {
            ok(ctx, new CardStatusData(openCard(user).status));
        }
    }

    private void cardBalance(Context ctx) {
        User user = authenticate(ctx);
        synchronized (lock) {
            ok(ctx, new BalanceData(money(openCard(user).balance), EUR));
        }
    }

    /**
     * Newest first. The cursor holds the absolute ledger index of the next (older) item, so items
     * appended while a client pages do not shift the pages it has not read yet.
     */
    private void cardTransactions(Context ctx) {
        User user = authenticate(ctx);
        int limit = limit(ctx.queryParam("limit"));
        String cursor = ctx.queryParam("cursor");
        boolean empty;
        boolean loop;
        synchronized (faultLock) {
            empty = emptyPages.contains(user.email);
            loop = loopingPagination.contains(user.email);
        }
        synchronized (lock) {
            List<CardTransaction> ledger = openCard(user).ledger;
            int start = cursor == null || cursor.isEmpty() ? ledger.size() - 1 : decodeCursor(cursor, ledger.size());
            if (empty) {
                ok(ctx, new TransactionsData(List.of(),
                        new Pagination(limit, encodeCursor(new Cursor(start, emptyPagesServed.incrementAndGet())))));
                return;
            }
            List<LedgerItem> items = new ArrayList<>();
            for (int i = start; i >= 0 && i > start - limit; i--) {
                CardTransaction t = ledger.get(i);
                items.add(new LedgerItem(money(t.amount()), t.counterpartyName(), t.currency(), t.status(),
                        t.timestamp().toString(), t.type()));
            }
            int next = start - limit;
            String nextCursor = loop ? encodeCursor(new Cursor(start, null))
                    : next >= 0 ? encodeCursor(new Cursor(next, null)) : null;
            ok(ctx, new TransactionsData(items, new Pagination(limit, nextCursor)));
        }
    }

    private void setFaults(Context ctx) {
        FaultsRequest request;
        try {
            request = Json.MAPPER.readValue(ctx.bodyAsBytes(), FaultsRequest.class);
        } catch (IOException e) {
            throw new SimError(400, 400001, "expected {\"fail_next\":n,\"slow_ms\":n,\"hang\":\"/path\","
                    + "\"expire_all_tokens\":true,\"clear\":true}: " + e.getMessage());
        }
        if (Boolean.TRUE.equals(request.clear())) {
            clearFaults();
        }
        if (request.failNext() != null) {
            failNext(request.failNext());
        }
        if (request.slowMs() != null) {
            slow(Duration.ofMillis(request.slowMs()));
        }
        if (request.hang() != null) {
            hang(request.hang());
        }
        if (Boolean.TRUE.equals(request.expireAllTokens())) {
            expireAllTokens();
        }
        ctx.json(faultsView());
    }

    private FaultsView faultsView() {
        synchronized (faultLock) {
            return new FaultsView(failNext.get(), slow.toMillis(), List.copyOf(hangs),
                    scriptedErrors.stream().map(e -> new FailWithView(e.endpoint, e.email, e.status, e.code, e.remaining.get())).toList(),
                    rawAnswers.stream().map(a -> new AnswerRawView(a.endpoint, a.status, a.contentType, a.remaining.get())).toList(),
                    List.copyOf(blacklistedIps), List.copyOf(loopingPagination), List.copyOf(emptyPages));
        }
    }

    private void requirePartnerToken(Context ctx) {
        if (!partnerToken.equals(ctx.header(PARTNER_TOKEN_HEADER))) {
            throw new SimError(401, 401000, "Authorization failed");
        }
    }

    private User authenticate(Context ctx) {
        String token = ctx.header(USER_TOKEN_HEADER);
        User user = token == null ? null : usersByToken.get(token);
        if (user == null) {
            throw new SimError(401, 401000, "Authorization failed");
        }
        // Mandatory with Sdk-User-Token (API text); the code for its absence is our assumption.
        String ip = ctx.header(USER_IP_HEADER);
        if (ip == null || ip.isBlank()) {
            throw new SimError(400, 400001, "Validation error: the " + USER_IP_HEADER + " header is required");
        }
        return user;
    }

    private static Card openCard(User user) {
        if (user.card == null) {
            throw new SimError(404, 404000, "No open card found");
        }
        return user.card;
    }

    private Card cardOf(String email) {
        User user = usersByEmail.get(normalizeEmail(email));
        if (user == null || user.card == null) {
            throw new IllegalStateException("no card for " + email);
        }
        return user.card;
    }

    private static void requireEndpoint(String endpoint) {
        if (!ENDPOINTS.contains(endpoint)) {
            throw new IllegalArgumentException("unknown endpoint " + endpoint + "; one of " + ENDPOINTS);
        }
    }

    private static int limit(String raw) {
        if (raw == null || raw.isEmpty()) {
            return DEFAULT_PAGE_LIMIT;
        }
        int limit;
        try {
            limit = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw new SimError(400, 400001, "Validation error: limit is not a number: " + raw);
        }
        if (limit < 1 || limit > MAX_PAGE_LIMIT) {
            throw new SimError(400, 400001, "Validation error: limit must be 1.." + MAX_PAGE_LIMIT);
        }
        return limit;
    }

    private static String encodeCursor(Cursor cursor) {
        try {
            return CURSOR_ENCODER.encodeToString(Json.MAPPER.writeValueAsBytes(cursor));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The ledger index the cursor starts at; -1 (an empty ledger's first page) is an empty page. */
    private static int decodeCursor(String cursor, int ledgerSize) {
        Cursor c;
        try {
            c = Json.MAPPER.readValue(Base64.getUrlDecoder().decode(cursor), Cursor.class);
        } catch (IllegalArgumentException | IOException e) {
            throw new SimError(400, 400001, "Validation error: invalid cursor");
        }
        if (c.seekId() < -1 || c.seekId() >= ledgerSize) {
            throw new SimError(400, 400001, "Validation error: cursor out of range");
        }
        return c.seekId();
    }

    private static JsonNode readBody(Context ctx) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(ctx.bodyAsBytes());
        } catch (IOException e) {
            throw new SimError(400, 400001, "Validation error: body is not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new SimError(400, 400001, "Validation error: body must be a JSON object");
        }
        return node;
    }

    private static void ok(Context ctx, Object data) {
        ctx.status(200).json(new Envelope(data, "200"));
    }

    private static void error(Context ctx, int status, int code, String message) {
        ctx.attribute(MERCURYO_ANSWER, true);
        ctx.status(status).json(new ErrorBody(status, code, message));
    }

    static String money(BigDecimal amount) {
        return amount.setScale(2, RoundingMode.HALF_UP).toPlainString();
    }

    static String crypto(BigDecimal amount) {
        return amount.setScale(8, RoundingMode.HALF_UP).toPlainString();
    }

    /** Mercuryo-style id: 17 lowercase hex digits starting with 0, like 0b9ace44536d91078. */
    static String newId() {
        return "0" + HexFormat.of().toHexDigits(RANDOM.nextLong());
    }

    private static String newToken() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static String normalizeEmail(String email) {
        return email.trim().toLowerCase(Locale.ROOT);
    }

    // ---------------------------------------------------------------- state and payloads

    private static final class User {
        final String uuid;
        final String email;
        String ip;
        Card card;

        User(String uuid, String email) {
            this.uuid = uuid;
            this.email = email;
        }

        CardUserRef ref() {
            return new CardUserRef(uuid, email, card.id, ip);
        }
    }

    private static final class Card {
        final String id;
        final String status = CARD_ACTIVE;
        final List<CardTransaction> ledger = new ArrayList<>();
        BigDecimal balance = new BigDecimal("0.00");

        Card(String id) {
            this.id = id;
        }
    }

    /** An API error with Mercuryo's six-digit code. */
    private static final class SimError extends RuntimeException {
        final int status;
        final int code;

        SimError(int status, int code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    private record ScriptedError(String endpoint, String email, int status, int code, String message, AtomicInteger remaining) {}

    private record RawAnswer(String endpoint, int status, String contentType, String body, AtomicInteger remaining) {}

    // Payloads. Json.MAPPER writes record components in declaration order, snake_case, nulls
    // included (a last page's next_cursor is an explicit null).

    record Envelope(Object data, String status) {}

    record ErrorBody(int status, int code, String message) {}

    record SignInData(String bearerToken, String userUuid) {}

    record RefreshData(String bearerToken, long timeout, String userUuid) {}

    record SellRequestStatusData(String address, Amounts amounts, String cardId, List<Object> depositTransaction, String status) {}

    record Amounts(RequestAmounts request) {}

    record RequestAmounts(String amount, String currency, String fiatAmount, String fiatCurrency) {}

    record CardStatusData(String status) {}

    record BalanceData(String fiatAmount, String fiatCurrency) {}

    record TransactionsData(List<LedgerItem> items, Pagination pagination) {}

    record LedgerItem(String amount, String counterpartyName, String currency, String status, String timestamp, String type) {}

    record Pagination(int limit, String nextCursor) {}

    /** {@code page} only in the cursors of {@link #emptyPagesWithCursor} pages, to make each one new. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Cursor(int seekId, Integer page) {}

    record FaultsRequest(Integer failNext, Long slowMs, String hang, Boolean expireAllTokens, Boolean clear) {}

    record FailWithView(String endpoint, String email, int status, int code, int remaining) {}

    record AnswerRawView(String endpoint, int status, String contentType, int remaining) {}

    record FaultsView(int failNext, long slowMs, List<String> hang, List<FailWithView> failWith, List<AnswerRawView> answerRaw,
                      List<String> blacklistedIps, List<String> loopPagination, List<String> emptyPagesWithCursor) {}
}
