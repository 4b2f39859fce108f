package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.http.Json;
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
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
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

/**
 * A real HTTP server that answers like Mercuryo's Spend Card API, for integration tests and dev
 * mode: partner sign-in, token refresh, sell-request status, card status, the card ledger with
 * cursor pagination, and the card balance. Payloads, the {@code {"data":...,"status":"200"}}
 * envelope and the six-digit error codes follow the reference text.
 *
 * <p>State lives in memory and can be seeded and changed from Java ({@link #addUser},
 * {@link #postCardTransaction}, {@link #createSellRequest}, ...). Faults can be switched on from
 * Java or with {@code POST /_sim/faults}, so a client's retry, re-authentication and timeout paths
 * can be exercised. Binds to 127.0.0.1 only.
 */
public final class MercuryoSimulator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MercuryoSimulator.class);

    public static final String SIGN_IN = "/sdk-partner/user/sign-in-no-verify";
    public static final String REFRESH_TOKEN = "/sdk-partner/user/refresh-token";
    public static final String SELL_REQUEST_STATUS = "/sdk-partner/spend/cards/sell-request/{id}/status";
    public static final String CARD_STATUS = "/sdk-partner/spend/cards/status";
    public static final String CARD_TRANSACTIONS = "/sdk-partner/spend/cards/transactions";
    public static final String CARD_BALANCE = "/sdk-partner/spend/cards/balance";
    /** Dev-mode control of the fault switches; never subject to the faults itself. */
    public static final String FAULTS = "/_sim/faults";

    public static final String PARTNER_TOKEN_HEADER = "Sdk-Partner-Token";
    public static final String USER_TOKEN_HEADER = "Sdk-User-Token";
    public static final String USER_IP_HEADER = "B2B-User-Ip";

    public static final int DEFAULT_PAGE_LIMIT = 50;
    public static final int MAX_PAGE_LIMIT = 100;
    /** A hung request answers 500 after this long even if nobody clears the fault. */
    public static final Duration HANG_LIMIT = Duration.ofSeconds(60);
    static final long TOKEN_TIMEOUT_SECONDS = 86_400;
    static final String CARD_ACTIVE = "active";
    static final String EUR = "EUR";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder CURSOR_ENCODER = Base64.getUrlEncoder().withoutPadding();

    private final String partnerToken;
    private final Javalin server;

    // All simulated Mercuryo state, guarded by `lock`. One lock keeps multi-part changes (a
    // ledger item and the balance it moves) atomic for concurrent API readers.
    private final Object lock = new Object();
    private final Map<String, User> usersByEmail = new LinkedHashMap<>();
    private final Map<String, User> usersByUuid = new LinkedHashMap<>();
    private final Map<String, User> usersByToken = new ConcurrentHashMap<>();
    private final Map<String, SellRequest> sellRequests = new LinkedHashMap<>();

    private final Map<String, LongAdder> requestCounts = new ConcurrentHashMap<>();
    private final LongAdder signIns = new LongAdder();

    // Fault switches. `hangs` is guarded by `faultLock`, which hung requests wait on.
    private final Object faultLock = new Object();
    private final Set<String> hangs = new LinkedHashSet<>();
    private final AtomicInteger failNext = new AtomicInteger();
    private volatile Duration slow = Duration.ZERO;
    private volatile boolean closed;

    private MercuryoSimulator(String partnerToken) {
        this.partnerToken = partnerToken;
        this.server = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            // Hung requests park their thread; virtual threads make that free.
            config.concurrency.useVirtualThreads = true;
            config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
            config.routes.post(SIGN_IN, api(SIGN_IN, this::signIn));
            config.routes.get(REFRESH_TOKEN, api(REFRESH_TOKEN, this::refreshToken));
            config.routes.get(SELL_REQUEST_STATUS, api(SELL_REQUEST_STATUS, this::sellRequestStatus));
            config.routes.get(CARD_STATUS, api(CARD_STATUS, this::cardStatus));
            config.routes.get(CARD_TRANSACTIONS, api(CARD_TRANSACTIONS, this::cardTransactions));
            config.routes.get(CARD_BALANCE, api(CARD_BALANCE, this::cardBalance));
            config.routes.post(FAULTS, this::setFaults);
            config.routes.get(FAULTS, ctx -> ctx.json(faultsView()));
            config.routes.exception(SimError.class, (e, ctx) -> error(ctx, e.status, e.code, e.getMessage()));
            config.routes.exception(Exception.class, (e, ctx) -> {
                log.error("simulator failed on {} {}", ctx.method(), ctx.path(), e);
                error(ctx, 500, 500001, "simulator error: " + e);
            });
            config.routes.error(404, ctx -> {
                if (ctx.result() == null || ctx.result().isEmpty()) {
                    error(ctx, 404, 404000, "no route " + ctx.method() + " " + ctx.path());
                }
            });
            config.routes.error(405, ctx -> error(ctx, 405, 405000, "Method Not Allowed"));
        });
    }

    /**
     * Starts a simulator on 127.0.0.1.
     *
     * @param port         0 picks a free port
     * @param partnerToken the {@code Sdk-Partner-Token} sign-in requires
     */
    public static MercuryoSimulator start(int port, String partnerToken) {
        if (partnerToken == null || partnerToken.isBlank()) {
            throw new IllegalArgumentException("a partner token is required");
        }
        MercuryoSimulator sim = new MercuryoSimulator(partnerToken);
        sim.server.start("127.0.0.1", port);
        log.info("Mercuryo simulator listening on {}", sim.baseUrl());
        return sim;
    }

    public URI baseUrl() {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    public String partnerToken() {
        return partnerToken;
    }

    // ---------------------------------------------------------------- state, from Java

    /**
     * Creates a user with a random uuid and an active card with balance 0. A user who only signed
     * in so far (Mercuryo signs unknown e-mails up) keeps their uuid and gets the card.
     */
    public CardUserRef addUser(String email) {
        return openCard(email, null, newId());
    }

    /** Creates a user with the given uuid and an active card with the given id and balance 0. */
    public CardUserRef addUser(String email, String userUuid, String cardId) {
        return openCard(email, Objects.requireNonNull(userUuid, "userUuid"), cardId);
    }

    private CardUserRef openCard(String email, String userUuid, String cardId) {
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
            user.card = new Card(cardId);
            return user.ref();
        }
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
     * Appends one ledger item and moves the balance by it, atomically (what Mercuryo does when a
     * top-up clears or a purchase settles). Returns the new balance.
     */
    public BigDecimal postCardTransaction(String email, CardTransaction item) {
        synchronized (lock) {
            Card card = cardOf(email);
            card.ledger.add(item);
            card.balance = item.credits() ? card.balance.add(item.amount()) : card.balance.subtract(item.amount());
            return card.balance;
        }
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

    // ---------------------------------------------------------------- counters

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

    public void resetCounters() {
        requestCounts.clear();
        signIns.reset();
    }

    // ---------------------------------------------------------------- faults

    /** The next {@code n} API requests answer 500 with code 500001. */
    public void failNext(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0");
        }
        failNext.set(n);
    }

    /** Every API answer is delayed by {@code delay} until {@link #clearFaults()}. */
    public void slow(Duration delay) {
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0");
        }
        slow = delay;
    }

    /**
     * API requests whose path starts with {@code pathPrefix} get no answer until the fault is
     * cleared (then they are answered normally), or until {@link #HANG_LIMIT} (then 500/500001).
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

    /** Wraps an API handler with the request counter and the fault switches. */
    private Handler api(String endpoint, Handler handler) {
        return ctx -> {
            requestCounts.computeIfAbsent(endpoint, k -> new LongAdder()).increment();
            awaitHangs(ctx.path());
            Duration delay = slow;
            if (!delay.isZero()) {
                Thread.sleep(delay.toMillis());
            }
            if (failNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                throw new SimError(500, 500001, "simulated failure (failNext)");
            }
            handler.handle(ctx);
        };
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
        if (!partnerToken.equals(ctx.header(PARTNER_TOKEN_HEADER))) {
            throw new SimError(401, 401000, "Authorization failed");
        }
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

    private void refreshToken(Context ctx) {
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
        // Another user's request is as invisible as a missing one.
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
            Card card = openCard(user);
            ok(ctx, new CardStatusData(card.status, card.id));
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
        synchronized (lock) {
            List<CardTransaction> ledger = openCard(user).ledger;
            int start = cursor == null || cursor.isEmpty() ? ledger.size() - 1 : decodeCursor(cursor, ledger.size());
            List<LedgerItem> items = new ArrayList<>();
            for (int i = start; i >= 0 && i > start - limit; i--) {
                CardTransaction t = ledger.get(i);
                items.add(new LedgerItem(money(t.amount()), t.counterpartyName(), t.currency(), t.status(),
                        t.timestamp().toString(), t.type()));
            }
            int next = start - limit;
            ok(ctx, new TransactionsData(items, new Pagination(limit, next >= 0 ? encodeCursor(next) : null)));
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
            return new FaultsView(failNext.get(), slow.toMillis(), List.copyOf(hangs));
        }
    }

    private User authenticate(Context ctx) {
        String token = ctx.header(USER_TOKEN_HEADER);
        User user = token == null ? null : usersByToken.get(token);
        if (user == null) {
            throw new SimError(401, 401000, "Authorization failed");
        }
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

    private static String encodeCursor(int index) {
        try {
            return CURSOR_ENCODER.encodeToString(Json.MAPPER.writeValueAsBytes(new Cursor(index)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int decodeCursor(String cursor, int ledgerSize) {
        Cursor c;
        try {
            c = Json.MAPPER.readValue(Base64.getUrlDecoder().decode(cursor), Cursor.class);
        } catch (IllegalArgumentException | IOException e) {
            throw new SimError(400, 400001, "Validation error: invalid cursor");
        }
        if (c.seekId() < 0 || c.seekId() >= ledgerSize) {
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
        Card card;

        User(String uuid, String email) {
            this.uuid = uuid;
            this.email = email;
        }

        CardUserRef ref() {
            return new CardUserRef(uuid, email, card.id);
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

    record Envelope(Object data, String status) {}

    record ErrorBody(int status, int code, String message) {}

    record SignInData(String bearerToken, String userUuid) {}

    record RefreshData(String bearerToken, long timeout, String userUuid) {}

    record SellRequestStatusData(String address, Amounts amounts, String cardId, List<Object> depositTransaction, String status) {}

    record Amounts(RequestAmounts request) {}

    record RequestAmounts(String amount, String currency, String fiatAmount, String fiatCurrency) {}

    record CardStatusData(String status, String cardId) {}

    record BalanceData(String fiatAmount, String fiatCurrency) {}

    record TransactionsData(List<LedgerItem> items, Pagination pagination) {}

    record LedgerItem(String amount, String counterpartyName, String currency, String status, String timestamp, String type) {}

    record Pagination(int limit, String nextCursor) {}

    record Cursor(int seekId) {}

    record FaultsRequest(Integer failNext, Long slowMs, String hang, Boolean expireAllTokens, Boolean clear) {}

    record FaultsView(int failNext, long slowMs, List<String> hang) {}
}
