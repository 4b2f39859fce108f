package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Client for the Mercuryo Spend Card API, as the reconciler reads it: a sell request's status, the
 * card's transactions and its balance, each on behalf of one card user (their token and real IP;
 * see {@link UserSessions}). Only what the API text documents is read.
 *
 * <p>Every HTTP call is bounded by {@link Settings#callTimeout()} and retried with jittered
 * exponential backoff on HTTP 5xx, code 500001, timeouts and connection failures; other answers are
 * thrown at once: Mercuryo's errors as {@link MercuryoApiException}, answers that are not Mercuryo's
 * JSON as {@link MercuryoProtocolException}, and no answer at all (after the retries) as
 * {@link java.io.UncheckedIOException}. Safe for concurrent use.
 */
public final class MercuryoClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MercuryoClient.class);

    static final String SELL_REQUEST = "/sdk-partner/spend/cards/sell-request/";
    static final String TRANSACTIONS = "/sdk-partner/spend/cards/transactions";
    static final String BALANCE = "/sdk-partner/spend/cards/balance";
    /**
     * Page size asked for. The API text shows {@code pagination.limit} and {@code next_cursor} in
     * the answer but not the query parameters: {@code limit} and {@code cursor} are assumed.
     */
    static final int PAGE_SIZE = 50;
    /** 500,000 transactions: far beyond one card, so reaching it means the server is looping. */
    static final int MAX_PAGES = 10_000;

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

        static Settings defaults() {
            return new Settings(Duration.ofSeconds(10), 4, Duration.ofMillis(200), Duration.ofSeconds(5));
        }
    }

    private final MercuryoHttp http;
    private final UserSessions sessions;

    /**
     * @param baseUrl      Mercuryo API root including any version prefix, e.g.
     *                     {@code https://sandbox-api.mrcr.io/v1.6}; endpoint paths are appended to it
     * @param partnerToken the {@code Sdk-Partner-Token}, for sign-in and refresh. May be empty, so the
     *                     app starts without one; every sign-in then fails with IllegalStateException
     */
    public MercuryoClient(URI baseUrl, String partnerToken, Settings settings) {
        this(baseUrl, partnerToken, settings, Clock.systemUTC());
    }

    public MercuryoClient(URI baseUrl, String partnerToken, Settings settings, Clock clock) {
        this.http = new MercuryoHttp(baseUrl, settings);
        this.sessions = new UserSessions(http, partnerToken, clock);
    }

    /** Signs the user in (creating the Mercuryo account if new) and caches the session. */
    UserSession signIn(CardUser user) {
        return sessions.signIn(user);
    }

    public SellRequestStatus sellRequestStatus(CardUser user, String sellRequestId) {
        if (sellRequestId == null || sellRequestId.isBlank()) {
            throw new IllegalArgumentException("sellRequestId is required");
        }
        String path = SELL_REQUEST + encodePathSegment(sellRequestId) + "/status";
        return userGet(user, path, data -> SellRequestStatus.from(sellRequestId, data));
    }

    /**
     * Every transaction of the user's card, in Mercuryo's order, reading all pages. Reading stops at
     * the last page ({@code next_cursor} null), at an empty page, and at a cursor seen before (a
     * server looping: the pages already read are all there is).
     */
    public List<CardTransaction> cardTransactions(CardUser user) {
        List<CardTransaction> all = new ArrayList<>();
        Set<String> seenCursors = new HashSet<>();
        String cursor = null;
        for (int page = 1; page <= MAX_PAGES; page++) {
            String path = TRANSACTIONS + "?limit=" + PAGE_SIZE
                    + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
            Page read = userGet(user, path, Page::from);
            all.addAll(read.items());
            if (read.nextCursor() == null || read.items().isEmpty()) {
                return List.copyOf(all);
            }
            if (!seenCursors.add(read.nextCursor())) {
                log.warn("Mercuryo repeated a pagination cursor for user {} on page {}; stopping there", user.userUuid(), page);
                return List.copyOf(all);
            }
            cursor = read.nextCursor();
        }
        throw new MercuryoProtocolException("GET " + TRANSACTIONS + ": more than " + MAX_PAGES
                + " pages; Mercuryo pagination does not end");
    }

    public CardBalance cardBalance(CardUser user) {
        return userGet(user, BALANCE, CardBalance::from);
    }

    /** Releases the HTTP client; calls in flight are allowed to finish. */
    @Override
    public void close() {
        http.close();
    }

    private <T> T userGet(CardUser user, String pathAndQuery, java.util.function.Function<JsonNode, T> mapper) {
        return sessions.withSession(user, session ->
                http.call(UserSessions.authorize(http.request(pathAndQuery), user, session).GET().build(), mapper));
    }

    /** One page of the transaction list: {@code {items:[...], pagination:{limit, next_cursor}}}. */
    private record Page(List<CardTransaction> items, String nextCursor) {
        static Page from(JsonNode data) {
            JsonNode items = data.path("items");
            if (!items.isMissingNode() && !items.isNull() && !items.isArray()) {
                throw new IllegalArgumentException("field 'items' is not a list");
            }
            List<CardTransaction> read = new ArrayList<>();
            for (JsonNode item : items) {
                read.add(CardTransaction.from(item));
            }
            return new Page(read, Fields.text(data.path("pagination"), "next_cursor"));
        }
    }

    /** A path segment: URLEncoder is for forms, where a space becomes '+', which a path keeps literally. */
    private static String encodePathSegment(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
