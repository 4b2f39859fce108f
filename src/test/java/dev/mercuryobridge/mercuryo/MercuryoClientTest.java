package dev.mercuryobridge.mercuryo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.http.Json;
import dev.mercuryobridge.mercuryo.FakeMercuryo.Answer;
import dev.mercuryobridge.mercuryo.MercuryoClient.Balance;
import dev.mercuryobridge.mercuryo.MercuryoClient.CardStatus;
import dev.mercuryobridge.mercuryo.MercuryoClient.CardTransaction;
import dev.mercuryobridge.mercuryo.MercuryoClient.CardUser;
import dev.mercuryobridge.mercuryo.MercuryoClient.SellRequestStatus;
import dev.mercuryobridge.mercuryo.MercuryoClient.UserSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.mercuryobridge.mercuryo.MercuryoClient.BALANCE;
import static dev.mercuryobridge.mercuryo.MercuryoClient.CARD_STATUS;
import static dev.mercuryobridge.mercuryo.MercuryoClient.REFRESH;
import static dev.mercuryobridge.mercuryo.MercuryoClient.SELL_REQUEST;
import static dev.mercuryobridge.mercuryo.MercuryoClient.SIGN_IN;
import static dev.mercuryobridge.mercuryo.MercuryoClient.TRANSACTIONS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class MercuryoClientTest {

    /** Real retries, short waits: backoff 10 ms doubling to 50 ms. */
    private static final MercuryoClient.Settings FAST =
            new MercuryoClient.Settings(Duration.ofSeconds(2), 4, Duration.ofMillis(10), Duration.ofMillis(50));

    private static final CardUser ALICE = new CardUser(null, "alice@example.com", "203.0.113.7");
    private static final CardUser BOB = new CardUser("uuid-bob", "bob@example.com", "198.51.100.20");

    private FakeMercuryo mercuryo;
    private final List<MercuryoClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        mercuryo = new FakeMercuryo();
    }

    @AfterEach
    void stop() {
        clients.forEach(MercuryoClient::close);
        mercuryo.close();
    }

    private MercuryoClient client(MercuryoClient.Settings settings) {
        return client(mercuryo.baseUri(), FakeMercuryo.PARTNER_TOKEN, settings);
    }

    private MercuryoClient client(URI baseUrl, String partnerToken, MercuryoClient.Settings settings) {
        MercuryoClient client = new MercuryoClient(baseUrl, partnerToken, settings);
        clients.add(client);
        return client;
    }

    // ---- authentication -------------------------------------------------------------------------

    @Test
    void sign_in_sends_the_partner_token_and_the_documented_body() throws Exception {
        UserSession session = client(FAST).signIn(ALICE);

        FakeMercuryo.Request request = mercuryo.requests("POST", SIGN_IN).getFirst();
        assertThat(request.header("Sdk-Partner-Token")).isEqualTo(FakeMercuryo.PARTNER_TOKEN);
        assertThat(request.header("Content-Type")).isEqualTo("application/json");
        assertThat(request.header("Accept")).isEqualTo("application/json");
        assertThat(request.header("Sdk-User-Token")).isNull();
        JsonNode body = Json.MAPPER.readTree(request.body());
        assertThat(body).isEqualTo(Json.MAPPER.readTree("{\"accept\":true,\"email\":\"alice@example.com\"}"));
        assertThat(session.token()).isEqualTo("user-token-1");
        assertThat(session.userUuid()).isEqualTo("uuid-alice@example.com");
    }

    @Test
    void sign_in_without_a_timeout_assumes_a_24_hour_token() {
        UserSession session = client(FAST).signIn(ALICE);

        assertThat(session.expiresAt()).isCloseTo(Instant.now().plus(Duration.ofHours(24)), within(Duration.ofMinutes(1)));
    }

    @Test
    void user_calls_send_the_user_token_and_the_user_ip_but_never_the_partner_token() {
        client(FAST).cardStatus(ALICE);

        FakeMercuryo.Request request = mercuryo.requests("GET", CARD_STATUS).getFirst();
        assertThat(request.header("Sdk-User-Token")).isEqualTo("user-token-1");
        assertThat(request.header("B2B-User-Ip")).isEqualTo("203.0.113.7");
        assertThat(request.header("Accept")).isEqualTo("application/json");
        assertThat(request.header("Sdk-Partner-Token")).isNull();
    }

    @Test
    void one_sign_in_serves_many_calls_for_the_same_user() {
        MercuryoClient client = client(FAST);

        client.cardStatus(ALICE);
        client.cardBalance(ALICE);
        client.cardTransactions(ALICE);
        client.cardStatus(ALICE);

        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(1);
        assertThat(mercuryo.requests("GET", CARD_STATUS))
                .extracting(r -> r.header("Sdk-User-Token"))
                .containsOnly("user-token-1");
    }

    @Test
    void each_user_has_their_own_token() {
        MercuryoClient client = client(FAST);

        client.cardStatus(ALICE);
        client.cardStatus(BOB);
        client.cardStatus(ALICE);

        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(2);
        assertThat(mercuryo.requests("GET", CARD_STATUS))
                .extracting(r -> r.header("B2B-User-Ip") + " " + r.header("Sdk-User-Token"))
                .containsExactly("203.0.113.7 user-token-1", "198.51.100.20 user-token-2", "203.0.113.7 user-token-1");
    }

    @Test
    void concurrent_first_calls_for_one_user_share_a_single_sign_in() throws Exception {
        MercuryoClient client = client(FAST);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<CardStatus>> calls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                calls.add(() -> client.cardStatus(ALICE));
            }
            for (Future<CardStatus> result : pool.invokeAll(calls)) {
                assertThat(result.get().status()).isEqualTo("active");
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(1);
        assertThat(mercuryo.count("GET", CARD_STATUS)).isEqualTo(8);
    }

    @Test
    void a_session_about_to_expire_is_refreshed_before_the_next_call() {
        mercuryo.signInTimeout(1L);
        MercuryoClient client = client(FAST);

        client.cardStatus(ALICE);
        client.cardStatus(ALICE);
        client.cardStatus(ALICE);

        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(1);
        List<FakeMercuryo.Request> refreshes = mercuryo.requests("GET", REFRESH);
        assertThat(refreshes).hasSize(1);
        assertThat(refreshes.getFirst().header("Sdk-User-Token")).isEqualTo("user-token-1");
        assertThat(refreshes.getFirst().header("B2B-User-Ip")).isEqualTo("203.0.113.7");
        assertThat(mercuryo.requests("GET", CARD_STATUS))
                .extracting(r -> r.header("Sdk-User-Token"))
                .containsExactly("user-token-1", "user-token-2", "user-token-2");
    }

    @Test
    void refresh_returns_a_session_that_lasts_as_long_as_mercuryo_says() {
        MercuryoClient client = client(FAST);
        UserSession first = client.signIn(ALICE);

        UserSession refreshed = client.refresh(ALICE, first);

        assertThat(refreshed.token()).isEqualTo("user-token-2");
        assertThat(refreshed.expiresAt()).isCloseTo(Instant.now().plusSeconds(86_400), within(Duration.ofMinutes(1)));
        client.cardStatus(ALICE);
        assertThat(mercuryo.requests("GET", CARD_STATUS).getFirst().header("Sdk-User-Token")).isEqualTo("user-token-2");
    }

    @Test
    void a_refresh_answered_401000_falls_back_to_a_new_sign_in() {
        mercuryo.signInTimeout(1L);
        mercuryo.on("GET", REFRESH, r -> Answer.error(401, 401000, "Authorization failed"));
        MercuryoClient client = client(FAST);

        client.cardStatus(ALICE);
        client.cardStatus(ALICE);

        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(2);
        assertThat(mercuryo.count("GET", REFRESH)).isEqualTo(1);
        assertThat(mercuryo.requests("GET", CARD_STATUS))
                .extracting(r -> r.header("Sdk-User-Token"))
                .containsExactly("user-token-1", "user-token-2");
    }

    @Test
    void a_rejected_user_token_leads_to_one_new_sign_in_and_one_repeat() {
        MercuryoClient client = client(FAST);
        client.cardStatus(ALICE);
        mercuryo.revokeUserTokens();

        CardStatus status = client.cardStatus(ALICE);

        assertThat(status.status()).isEqualTo("active");
        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(2);
        assertThat(mercuryo.requests("GET", CARD_STATUS))
                .extracting(r -> r.header("Sdk-User-Token"))
                .containsExactly("user-token-1", "user-token-1", "user-token-2");
    }

    @Test
    void a_second_401000_is_thrown_after_exactly_two_sign_ins() {
        mercuryo.on("GET", CARD_STATUS, r -> Answer.error(401, 401000, "Authorization failed"));
        MercuryoClient client = client(FAST);

        assertThatThrownBy(() -> client.cardStatus(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(401000);
                    assertThat(e.httpStatus()).isEqualTo(401);
                    assertThat(e.getMessage()).contains("Authorization failed");
                });
        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(2);
        assertThat(mercuryo.count("GET", CARD_STATUS)).isEqualTo(2);
    }

    @Test
    void a_wrong_partner_token_is_thrown_at_sign_in_without_retry() {
        MercuryoClient client = client(mercuryo.baseUri(), "not-the-partner-token", FAST);

        assertThatThrownBy(() -> client.cardBalance(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> assertThat(e.code()).isEqualTo(401000))
                .hasMessageNotContaining("not-the-partner-token");
        assertThat(mercuryo.count("POST", SIGN_IN)).isEqualTo(1);
        assertThat(mercuryo.count("GET", BALANCE)).isZero();
    }

    @Test
    void without_a_partner_token_the_client_starts_but_cannot_sign_in() {
        MercuryoClient client = client(mercuryo.baseUri(), "", FAST);

        assertThatThrownBy(() -> client.cardStatus(ALICE))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("partner token");
        assertThat(mercuryo.count("POST", SIGN_IN)).isZero();
    }

    @Test
    void a_session_never_prints_its_token() {
        UserSession session = client(FAST).signIn(ALICE);

        assertThat(session.toString()).doesNotContain(session.token()).contains("***");
    }

    // ---- endpoints ------------------------------------------------------------------------------

    @Test
    void sell_request_status_is_parsed_with_exact_decimals() {
        mercuryo.on("GET", SELL_REQUEST + "0b9ace44536d91078/status", r -> Answer.ok("""
                {"address":"2MufWTNoq71xwFU8enzfeYpmywhQt4katpm",
                 "amounts":{"request":{"amount":"0.00400000","currency":"BTC","fiat_amount":"95.38","fiat_currency":"EUR"}},
                 "card_id":"0a56a5796e6056355","deposit_transaction":[],"status":"pending","added_later":{"x":1}}"""));

        SellRequestStatus status = client(FAST).sellRequestStatus(ALICE, "0b9ace44536d91078");

        assertThat(status).isEqualTo(new SellRequestStatus("0b9ace44536d91078", "pending", "0a56a5796e6056355",
                new BigDecimal("0.00400000"), "BTC", new BigDecimal("95.38"), "EUR"));
        assertThat(status.amount().scale()).isEqualTo(8);
    }

    @Test
    void sell_request_without_amounts_or_card_has_nulls() {
        mercuryo.on("GET", SELL_REQUEST + "abc/status", r -> Answer.ok("{\"status\":\"new\",\"deposit_transaction\":[]}"));

        SellRequestStatus status = client(FAST).sellRequestStatus(ALICE, "abc");

        assertThat(status).isEqualTo(new SellRequestStatus("abc", "new", null, null, null, null, null));
    }

    @Test
    void sell_request_id_is_url_encoded_into_the_path() {
        mercuryo.on("GET", SELL_REQUEST + "*", r -> Answer.ok("{\"status\":\"pending\"}"));

        client(FAST).sellRequestStatus(ALICE, "a/b c?d");

        assertThat(mercuryo.requests("GET", SELL_REQUEST + "a%2Fb%20c%3Fd/status")).hasSize(1);
    }

    @Test
    void card_status_without_a_card_id_has_a_null_card_id() {
        mercuryo.on("GET", CARD_STATUS, r -> Answer.ok("{\"status\":\"pending\"}"));

        assertThat(client(FAST).cardStatus(ALICE)).isEqualTo(new CardStatus("pending", null));
    }

    @Test
    void card_balance_is_parsed_with_its_scale() {
        Balance balance = client(FAST).cardBalance(ALICE);

        assertThat(balance).isEqualTo(new Balance(new BigDecimal("90.00"), "EUR"));
        assertThat(balance.fiatAmount().toPlainString()).isEqualTo("90.00");
    }

    @Test
    void all_1000_card_transactions_are_read_in_order_over_20_pages() {
        Instant start = Instant.parse("2024-02-27T00:00:00Z");
        mercuryo.on("GET", TRANSACTIONS, r -> {
            String cursor = r.query().get("cursor");
            int offset = cursor == null ? 0 : Integer.parseInt(new String(Base64.getDecoder().decode(cursor)).replace("offset:", ""));
            int limit = Integer.parseInt(r.query().get("limit"));
            StringBuilder items = new StringBuilder();
            for (int i = offset; i < offset + limit; i++) {
                items.append(i == offset ? "" : ",").append("""
                        {"amount":"%d.05","counterparty_name":"party-%d","currency":"EUR","status":"CLEARED",
                         "timestamp":"%s","type":"TOP_UP"}""".formatted(i, i, start.plusSeconds(i)));
            }
            int next = offset + limit;
            // Base64 with '=' padding, like Mercuryo's cursors: it must survive the query string.
            String nextCursor = next >= 1000 ? "null"
                    : "\"" + Base64.getEncoder().encodeToString(("offset:" + next).getBytes()) + "\"";
            return Answer.ok("{\"items\":[" + items + "],\"pagination\":{\"limit\":" + limit + ",\"next_cursor\":" + nextCursor + "}}");
        });

        List<CardTransaction> transactions = client(FAST).cardTransactions(ALICE);

        assertThat(transactions).hasSize(1000);
        for (int i = 0; i < 1000; i++) {
            assertThat(transactions.get(i)).isEqualTo(new CardTransaction("TOP_UP", "CLEARED",
                    new BigDecimal(i + ".05"), "EUR", start.plusSeconds(i), "party-" + i));
        }
        List<FakeMercuryo.Request> pages = mercuryo.requests("GET", TRANSACTIONS);
        assertThat(pages).hasSize(20);
        assertThat(pages).allSatisfy(r -> assertThat(r.query().get("limit")).isEqualTo("50"));
        assertThat(pages.getFirst().query()).doesNotContainKey("cursor");
    }

    @Test
    void an_empty_next_cursor_ends_the_pages() {
        mercuryo.on("GET", TRANSACTIONS, r -> Answer.ok("""
                {"items":[{"amount":"30.06","counterparty_name":"John Doe","currency":"EUR","status":"CLEARED",
                 "timestamp":"2024-02-27T13:37:15Z","type":"TOP_UP"}],"pagination":{"limit":50,"next_cursor":""}}"""));

        assertThat(client(FAST).cardTransactions(ALICE)).hasSize(1);
        assertThat(mercuryo.count("GET", TRANSACTIONS)).isEqualTo(1);
    }

    @Test
    void a_card_transaction_without_an_amount_fails_the_listing() {
        mercuryo.on("GET", TRANSACTIONS, r -> Answer.ok("""
                {"items":[{"counterparty_name":"John Doe","currency":"EUR","status":"CLEARED",
                 "timestamp":"2024-02-27T13:37:15Z","type":"TOP_UP"}],"pagination":{"limit":50}}"""));

        assertThatThrownBy(() -> client(FAST).cardTransactions(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(200_000);
                    assertThat(e.getMessage()).contains("'amount' is missing");
                });
    }

    @Test
    void a_repeated_pagination_cursor_stops_with_an_exception() {
        mercuryo.on("GET", TRANSACTIONS, r -> Answer.ok("{\"items\":[],\"pagination\":{\"limit\":50,\"next_cursor\":\"same\"}}"));

        assertThatThrownBy(() -> client(FAST).cardTransactions(ALICE))
                .isInstanceOf(MercuryoApiException.class)
                .hasMessageContaining("cursor repeated");
        assertThat(mercuryo.count("GET", TRANSACTIONS)).isEqualTo(2);
    }

    @Test
    void an_unreadable_amount_fails_the_call_without_retry() {
        mercuryo.on("GET", BALANCE, r -> Answer.ok("{\"fiat_amount\":\"ninety\",\"fiat_currency\":\"EUR\"}"));

        assertThatThrownBy(() -> client(FAST).cardBalance(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(200_000);
                    assertThat(e.getMessage()).contains("fiat_amount");
                });
        assertThat(mercuryo.count("GET", BALANCE)).isEqualTo(1);
    }

    // ---- errors and retries ---------------------------------------------------------------------

    @Test
    void three_5xx_answers_then_success_are_retried_and_succeed() {
        mercuryo.script("GET", CARD_STATUS,
                Answer.error(500, 500000, "Internal server error"),
                Answer.json(503, "{\"status\":503,\"message\":\"Service Unavailable\"}"),
                Answer.error(502, 500000, "Bad Gateway"));

        CardStatus status = client(FAST).cardStatus(ALICE);

        assertThat(status).isEqualTo(new CardStatus("active", "0a56a5796e6056355"));
        assertThat(mercuryo.count("GET", CARD_STATUS)).isEqualTo(4);
    }

    @Test
    void code_500001_is_retried_even_inside_a_2xx_answer() {
        mercuryo.script("GET", BALANCE,
                Answer.error(500, 500001, "Various reasons"),
                Answer.json(200, "{\"status\":500,\"code\":500001,\"message\":\"Various reasons\"}"));

        assertThat(client(FAST).cardBalance(ALICE).fiatAmount()).isEqualByComparingTo("90.00");
        assertThat(mercuryo.count("GET", BALANCE)).isEqualTo(3);
    }

    @Test
    void persistent_5xx_is_thrown_after_max_attempts() {
        mercuryo.on("GET", BALANCE, r -> Answer.error(500, 500001, "Various reasons"));

        assertThatThrownBy(() -> client(FAST).cardBalance(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(500001);
                    assertThat(e.retryable()).isTrue();
                });
        assertThat(mercuryo.count("GET", BALANCE)).isEqualTo(FAST.maxAttempts());
    }

    @Test
    void validation_error_400001_is_thrown_without_retry() {
        mercuryo.on("GET", CARD_STATUS, r -> Answer.json(400,
                "{\"status\":400,\"code\":400001,\"message\":\"Validation error\",\"data\":{\"limit\":\"too big\"}}"));

        assertThatThrownBy(() -> client(FAST).cardStatus(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(400001);
                    assertThat(e.httpStatus()).isEqualTo(400);
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("Validation error", "too big");
                });
        assertThat(mercuryo.count("GET", CARD_STATUS)).isEqualTo(1);
    }

    @Test
    void no_open_card_404000_is_thrown_with_its_code_after_one_request() {
        mercuryo.on("GET", BALANCE, r -> Answer.error(404, 404000, "No open card found"));

        assertThatThrownBy(() -> client(FAST).cardBalance(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(404000);
                    assertThat(e.httpStatus()).isEqualTo(404);
                    assertThat(e.getMessage()).contains("No open card found");
                });
        assertThat(mercuryo.count("GET", BALANCE)).isEqualTo(1);
    }

    @Test
    void a_non_json_error_body_gives_a_clear_exception() {
        String page = "<html><body><h1>502 Bad Gateway</h1>" + "x".repeat(300) + "TAIL</body></html>";
        mercuryo.on("GET", CARD_STATUS, r -> Answer.json(502, page));

        assertThatThrownBy(() -> client(FAST).cardStatus(ALICE))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.code()).isEqualTo(502_000);
                    assertThat(e.httpStatus()).isEqualTo(502);
                    assertThat(e.getMessage()).contains("non-JSON", page.substring(0, 200)).doesNotContain("TAIL");
                });
        assertThat(mercuryo.count("GET", CARD_STATUS)).isEqualTo(FAST.maxAttempts());
    }

    @Test
    void a_hanging_endpoint_times_out_in_bounded_time() {
        mercuryo.on("GET", CARD_STATUS, r -> Answer.hang(Duration.ofSeconds(10)));
        MercuryoClient client = client(new MercuryoClient.Settings(
                Duration.ofMillis(300), 2, Duration.ofMillis(10), Duration.ofMillis(50)));
        long started = System.nanoTime();

        assertThatThrownBy(() -> client.cardStatus(ALICE))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(HttpTimeoutException.class);

        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
        assertThat(mercuryo.count("GET", CARD_STATUS)).isEqualTo(2);
    }

    @Test
    void a_refused_connection_is_retried_then_thrown() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        // Backoff 100 ms then 200 ms, each jittered by at most half: three attempts take >= 150 ms.
        MercuryoClient client = client(URI.create("http://127.0.0.1:" + closedPort), FakeMercuryo.PARTNER_TOKEN,
                new MercuryoClient.Settings(Duration.ofSeconds(1), 3, Duration.ofMillis(100), Duration.ofSeconds(1)));
        long started = System.nanoTime();

        assertThatThrownBy(() -> client.cardStatus(ALICE))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(ConnectException.class)
                .hasMessageContaining("3 attempt(s)");

        assertThat(Duration.ofNanos(System.nanoTime() - started)).isBetween(Duration.ofMillis(140), Duration.ofSeconds(3));
    }
}
