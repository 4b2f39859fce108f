package dev.mercuryobridge.mercuryo;

import dev.mercuryobridge.testing.ManualClock;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.MercuryoSimulator.RecordedRequest;
import dev.mercuryobridge.simulator.SellRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.mercuryobridge.simulator.MercuryoSimulator.CARD_BALANCE;
import static dev.mercuryobridge.simulator.MercuryoSimulator.CARD_TRANSACTIONS;
import static dev.mercuryobridge.simulator.MercuryoSimulator.REFRESH_TOKEN;
import static dev.mercuryobridge.simulator.MercuryoSimulator.SELL_REQUEST_STATUS;
import static dev.mercuryobridge.simulator.MercuryoSimulator.SIGN_IN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client against the Mercuryo simulator (real HTTP, the API text's shapes), behind a versioned base path. */
class MercuryoClientTest {

    private static final String PARTNER_TOKEN = "partner-token-0123456789";
    /** Real retries, short waits: backoff 10 ms doubling to 50 ms. */
    private static final MercuryoClient.Settings FAST =
            new MercuryoClient.Settings(Duration.ofSeconds(2), 4, Duration.ofMillis(10), Duration.ofMillis(50));

    private MercuryoSimulator sim;
    private final ManualClock clock = new ManualClock(Instant.parse("2026-11-23T10:00:00Z"));
    private final List<MercuryoClient> clients = new ArrayList<>();
    private CardUser alice;
    private CardUserRef aliceRef;

    @BeforeEach
    void start() {
        sim = MercuryoSimulator.start(0, PARTNER_TOKEN, "/v1.6");
        aliceRef = sim.addUser("alice@example.com");
        alice = new CardUser(aliceRef.userUuid(), aliceRef.email(), aliceRef.ip());
    }

    @AfterEach
    void stop() {
        clients.forEach(MercuryoClient::close);
        sim.close();
    }

    private MercuryoClient client() {
        return client(sim.baseUrl(), PARTNER_TOKEN, FAST);
    }

    private MercuryoClient client(URI base, String partnerToken, MercuryoClient.Settings settings) {
        MercuryoClient c = new MercuryoClient(base, partnerToken, settings, clock);
        clients.add(c);
        return c;
    }

    private List<RecordedRequest> to(String endpoint) {
        return sim.requestsTo(endpoint);
    }

    // ---- tokens ----------------------------------------------------------------------------------

    @Test
    void sign_in_sends_the_partner_token_the_user_ip_and_the_documented_body() {
        client().cardBalance(alice);

        RecordedRequest signIn = to(SIGN_IN).getFirst();
        assertThat(signIn.method()).isEqualTo("POST");
        assertThat(signIn.header("Sdk-Partner-Token")).isEqualTo(PARTNER_TOKEN);
        assertThat(signIn.header("B2B-User-Ip")).isEqualTo(aliceRef.ip());
        assertThat(signIn.body()).isEqualTo("{\"accept\":true,\"email\":\"alice@example.com\"}");
    }

    @Test
    void user_calls_send_the_user_token_and_the_real_ip_but_never_the_partner_token() {
        client().cardBalance(alice);

        RecordedRequest call = to(CARD_BALANCE).getFirst();
        assertThat(call.header("Sdk-User-Token")).isNotBlank();
        assertThat(call.header("B2B-User-Ip")).isEqualTo(aliceRef.ip());
        assertThat(call.header("Sdk-Partner-Token")).isNull();
    }

    @Test
    void one_sign_in_serves_many_calls_and_each_user_has_their_own_token() {
        CardUserRef bobRef = sim.addUser("bob@example.com");
        CardUser bob = new CardUser(bobRef.userUuid(), bobRef.email(), bobRef.ip());
        MercuryoClient client = client();

        client.cardBalance(alice);
        client.cardBalance(alice);
        client.cardBalance(bob);

        assertThat(sim.signIns()).isEqualTo(2);
        List<String> tokens = to(CARD_BALANCE).stream().map(r -> r.header("Sdk-User-Token")).toList();
        assertThat(tokens.get(0)).isEqualTo(tokens.get(1)).isNotEqualTo(tokens.get(2));
    }

    @Test
    void concurrent_first_calls_for_one_user_share_a_single_sign_in() throws Exception {
        MercuryoClient client = client();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<CardBalance>> calls = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                calls.add(() -> client.cardBalance(alice));
            }
            for (Future<CardBalance> f : pool.invokeAll(calls)) {
                assertThat(f.get().fiatCurrency()).isEqualTo("EUR");
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(sim.signIns()).isEqualTo(1);
    }

    @Test
    void a_token_about_to_expire_is_refreshed_with_both_tokens_before_the_next_call() {
        MercuryoClient client = client();
        client.cardBalance(alice);
        String first = to(CARD_BALANCE).getFirst().header("Sdk-User-Token");

        clock.advance(Duration.ofHours(24).minusMinutes(4));   // sign-in states no lifetime: 24 h assumed
        client.cardBalance(alice);

        List<RecordedRequest> refreshes = to(REFRESH_TOKEN);
        assertThat(refreshes).hasSize(1);
        assertThat(refreshes.getFirst().header("Sdk-User-Token")).isEqualTo(first);
        assertThat(refreshes.getFirst().header("Sdk-Partner-Token")).isEqualTo(PARTNER_TOKEN);
        assertThat(refreshes.getFirst().header("B2B-User-Ip")).isEqualTo(aliceRef.ip());
        assertThat(sim.signIns()).isEqualTo(1);
        assertThat(to(CARD_BALANCE).get(1).header("Sdk-User-Token")).isNotEqualTo(first);
    }

    @Test
    void any_refresh_failure_falls_back_to_one_sign_in_and_no_user_is_left_stuck() {
        MercuryoClient client = client();
        client.cardBalance(alice);
        clock.advance(Duration.ofHours(24));
        // Not 401000: the kind of failure that used to leave a user stuck until a restart.
        sim.failWith(REFRESH_TOKEN, 400, 400014, "Empty widget error. Contact your account manager", 1);

        assertThat(client.cardBalance(alice).fiatCurrency()).isEqualTo("EUR");

        assertThat(to(REFRESH_TOKEN)).hasSize(1);
        assertThat(sim.signIns()).isEqualTo(2);
    }

    @Test
    void a_failed_renewal_forgets_the_dead_token_and_the_next_call_signs_in_afresh() {
        MercuryoClient client = client();
        client.cardBalance(alice);
        clock.advance(Duration.ofHours(24));
        sim.failWith(REFRESH_TOKEN, 400, 400014, "Empty widget error", 1);
        sim.failWith(SIGN_IN, 403, 403007, "There's another active transaction", 1);

        assertThatThrownBy(() -> client.cardBalance(alice)).isInstanceOfSatisfying(MercuryoApiException.class,
                e -> assertThat(e.code()).isEqualTo(MercuryoErrors.ANOTHER_ACTIVE_TRANSACTION));
        assertThat(client.cardBalance(alice).fiatCurrency()).isEqualTo("EUR");

        assertThat(to(REFRESH_TOKEN)).hasSize(1);   // the second call signed in: no refresh of a dead token
        assertThat(sim.signIns()).isEqualTo(2);
    }

    @Test
    void a_rejected_user_token_leads_to_one_new_sign_in_and_one_repeat() {
        MercuryoClient client = client();
        client.cardBalance(alice);
        sim.expireAllTokens();

        assertThat(client.cardBalance(alice).fiatCurrency()).isEqualTo("EUR");

        assertThat(sim.signIns()).isEqualTo(2);
        assertThat(to(CARD_BALANCE)).hasSize(3);
    }

    @Test
    void user_not_found_by_token_400064_also_signs_in_once_and_repeats() {
        SellRequest request = sim.createSellRequest("alice@example.com", "BTC", new BigDecimal("0.00400000"), new BigDecimal("95.38"));
        MercuryoClient client = client();
        client.cardBalance(alice);
        sim.failWith(SELL_REQUEST_STATUS, "alice@example.com", 400, 400064, "User not found by token", 1);

        assertThat(client.sellRequestStatus(alice, request.id()).status()).isEqualTo("new");

        assertThat(sim.signIns()).isEqualTo(2);
    }

    @Test
    void a_second_refusal_is_thrown_after_exactly_two_sign_ins() {
        sim.failWith(CARD_BALANCE, 401, 401000, "Authorization failed", 2);

        assertThatThrownBy(() -> client().cardBalance(alice)).isInstanceOfSatisfying(MercuryoApiException.class, e -> {
            assertThat(e.code()).isEqualTo(401000);
            assertThat(e.httpStatus()).isEqualTo(401);
            assertThat(e.getMessage()).contains("Authorization failed");
        });
        assertThat(sim.signIns()).isEqualTo(2);
        assertThat(to(CARD_BALANCE)).hasSize(2);
    }

    @Test
    void another_active_transaction_at_sign_in_is_thrown_as_it_came_for_the_caller_to_retry_later() {
        sim.failWith(SIGN_IN, "alice@example.com", 403, 403007, "There's another active transaction", 1);

        assertThatThrownBy(() -> client().cardBalance(alice)).isInstanceOfSatisfying(MercuryoApiException.class,
                e -> assertThat(e.code()).isEqualTo(403007));
        assertThat(to(SIGN_IN)).hasSize(1);   // not retried: a 4xx
    }

    @Test
    void a_wrong_partner_token_is_thrown_at_sign_in_without_retry() {
        assertThatThrownBy(() -> client(sim.baseUrl(), "not-the-partner-token", FAST).cardBalance(alice))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> assertThat(e.code()).isEqualTo(401000));
        assertThat(to(SIGN_IN)).hasSize(1);
    }

    @Test
    void without_a_partner_token_the_client_starts_but_cannot_sign_in() {
        assertThatThrownBy(() -> client(sim.baseUrl(), "", FAST).cardBalance(alice))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("partner token");
        assertThat(sim.requests()).isEmpty();
    }

    @Test
    void a_session_never_prints_its_token() {
        UserSession session = client().signIn(alice);

        assertThat(session.toString()).doesNotContain(session.token()).contains("***");
    }

    // ---- answers ---------------------------------------------------------------------------------

    @Test
    void sell_request_status_is_read_with_exact_decimals_and_the_documented_card_id() {
        SellRequest request = sim.createSellRequest("alice@example.com", "BTC", new BigDecimal("0.004"), new BigDecimal("95.38"));
        sim.setSellRequestStatus(request.id(), "pending");

        SellRequestStatus status = client().sellRequestStatus(alice, request.id());

        assertThat(status.status()).isEqualTo("pending");
        assertThat(status.cardId()).isEqualTo(aliceRef.cardId());
        assertThat(status.amount()).isEqualTo(new BigDecimal("0.00400000"));
        assertThat(status.currency()).isEqualTo("BTC");
        assertThat(status.fiatAmount()).isEqualTo(new BigDecimal("95.38"));
        assertThat(status.data().get("address").asText()).isEqualTo(request.address());
    }

    @Test
    void an_unknown_sell_request_is_mercuryos_404000() {
        assertThatThrownBy(() -> client().sellRequestStatus(alice, "0doesnotexist"))
                .isInstanceOfSatisfying(MercuryoApiException.class, e -> {
                    assertThat(e.httpStatus()).isEqualTo(404);
                    assertThat(e.code()).isEqualTo(MercuryoErrors.NOT_FOUND);
                });
    }

    @Test
    void the_sell_request_id_is_encoded_into_the_path() {
        assertThatThrownBy(() -> client().sellRequestStatus(alice, "a b/c"));

        assertThat(to(SELL_REQUEST_STATUS)).singleElement()
                .satisfies(r -> assertThat(r.path()).isEqualTo("/sdk-partner/spend/cards/sell-request/a%20b%2Fc/status"));
    }

    @Test
    void the_balance_keeps_its_scale() {
        sim.setBalance("alice@example.com", new BigDecimal("90.00"));

        CardBalance balance = client().cardBalance(alice);

        assertThat(balance.fiatAmount()).isEqualTo(new BigDecimal("90.00"));
        assertThat(balance.fiatCurrency()).isEqualTo("EUR");
    }

    @Test
    void card_transactions_are_read_over_every_page_with_limit_and_cursor() {
        List<dev.mercuryobridge.simulator.CardTransaction> items = new ArrayList<>();
        Instant t0 = Instant.parse("2024-02-27T00:00:00Z");
        for (int i = 0; i < 120; i++) {
            items.add(new dev.mercuryobridge.simulator.CardTransaction("PURCHASE", "CLEARED", new BigDecimal("1.00"), "EUR",
                    "Shop " + i, t0.plusSeconds(i)));
        }
        sim.addCardTransactions("alice@example.com", items);

        List<CardTransaction> read = client().cardTransactions(alice);

        assertThat(read).hasSize(120);
        assertThat(read.getFirst().timestamp()).isEqualTo(t0.plusSeconds(119));   // newest first, as listed
        assertThat(to(CARD_TRANSACTIONS)).hasSize(3);
        assertThat(to(CARD_TRANSACTIONS).getFirst().query()).containsEntry("limit", "50").doesNotContainKey("cursor");
        assertThat(to(CARD_TRANSACTIONS).get(1).query()).containsKey("cursor");
    }

    @Test
    void an_empty_page_ends_the_listing_even_with_a_cursor() {
        sim.emptyPagesWithCursor("alice@example.com");

        assertThat(client().cardTransactions(alice)).isEmpty();
        assertThat(to(CARD_TRANSACTIONS)).hasSize(1);
    }

    @Test
    void a_repeated_cursor_ends_the_listing_with_what_was_read() {
        sim.addCardTransactions("alice@example.com", List.of(new dev.mercuryobridge.simulator.CardTransaction(
                "TOP_UP", "CLEARED", new BigDecimal("30.06"), "EUR", "John Doe", Instant.parse("2024-02-27T13:37:15Z"))));
        sim.loopPagination("alice@example.com");

        List<CardTransaction> read = client().cardTransactions(alice);

        assertThat(to(CARD_TRANSACTIONS)).hasSizeLessThanOrEqualTo(3);
        assertThat(read).isNotEmpty().allSatisfy(t -> assertThat(t.amount()).isEqualByComparingTo("30.06"));
    }

    @Test
    void failed_to_get_transactions_400086_is_thrown_without_retry() {
        sim.failWith(CARD_TRANSACTIONS, 400, 400086, "Failed to get transactions.", 1);

        assertThatThrownBy(() -> client().cardTransactions(alice)).isInstanceOfSatisfying(MercuryoApiException.class,
                e -> assertThat(e.code()).isEqualTo(MercuryoErrors.FAILED_TO_GET_TRANSACTIONS));
        assertThat(to(CARD_TRANSACTIONS)).hasSize(1);
    }

    @Test
    void invalid_card_status_400210_on_the_balance_is_thrown_without_retry() {
        sim.failWith(CARD_BALANCE, 400, 400210, "Invalid card status", 1);

        assertThatThrownBy(() -> client().cardBalance(alice)).isInstanceOfSatisfying(MercuryoApiException.class,
                e -> assertThat(e.code()).isEqualTo(MercuryoErrors.INVALID_CARD_STATUS));
        assertThat(to(CARD_BALANCE)).hasSize(1);
    }

    @Test
    void a_burst_of_500001_is_retried_with_backoff() {
        sim.failWith(CARD_BALANCE, 500, 500001, "Various reasons", 3);

        assertThat(client().cardBalance(alice).fiatCurrency()).isEqualTo("EUR");
        assertThat(to(CARD_BALANCE)).hasSize(4);
    }

    @Test
    void a_blacklisted_ip_403020_is_thrown_without_retry() {
        sim.blacklistIp(aliceRef.ip());

        assertThatThrownBy(() -> client().cardBalance(alice)).isInstanceOfSatisfying(MercuryoApiException.class,
                e -> assertThat(e.code()).isEqualTo(MercuryoErrors.IP_BLACKLISTED));
    }

    // ---- answers that are not Mercuryo's ----------------------------------------------------------

    @Test
    void a_wrong_base_path_is_a_protocol_error_not_a_mercuryo_404000() {
        MercuryoClient client = client(URI.create(sim.rootUrl() + "/v9"), PARTNER_TOKEN, FAST);

        assertThatThrownBy(() -> client.cardBalance(alice)).isInstanceOf(MercuryoProtocolException.class)
                .hasMessageContaining("MERCURYO_API_BASE_URL");
    }

    @Test
    void an_html_page_an_empty_404_or_json_under_another_content_type_are_protocol_errors() {
        MercuryoClient client = client();
        client.cardBalance(alice);
        sim.answerRaw(CARD_BALANCE, 404, "text/html", "<html><body>Not Found</body></html>", 1);
        sim.answerRaw(CARD_BALANCE, 404, null, "", 1);
        sim.answerRaw(CARD_BALANCE, 200, "text/plain", "{\"data\":{\"fiat_amount\":\"1.00\",\"fiat_currency\":\"EUR\"}}", 1);
        sim.answerRaw(CARD_BALANCE, 200, "application/json", "[1,2,3]", 1);

        for (int i = 0; i < 4; i++) {
            assertThatThrownBy(() -> client.cardBalance(alice)).isInstanceOf(MercuryoProtocolException.class);
        }
    }

    @Test
    void a_data_object_without_the_documented_fields_is_a_protocol_error() {
        sim.answerRaw(CARD_BALANCE, 200, "application/json", "{\"data\":{\"fiat_currency\":\"EUR\"},\"status\":\"200\"}", 1);

        assertThatThrownBy(() -> client().cardBalance(alice)).isInstanceOf(MercuryoProtocolException.class)
                .hasMessageContaining("fiat_amount");
    }

    @Test
    void a_gateways_5xx_page_is_an_outage_retried_then_thrown_as_such() {
        sim.answerRaw(CARD_BALANCE, 502, "text/html", "<html>Bad Gateway</html>", 10);

        assertThatThrownBy(() -> client().cardBalance(alice)).isInstanceOfSatisfying(MercuryoApiException.class,
                e -> assertThat(e.code()).isEqualTo(502_000));
        assertThat(to(CARD_BALANCE)).hasSize(FAST.maxAttempts());
    }

    // ---- no answer ---------------------------------------------------------------------------------

    @Test
    void a_hanging_endpoint_times_out_in_bounded_time() {
        MercuryoClient client = client(sim.baseUrl(), PARTNER_TOKEN,
                new MercuryoClient.Settings(Duration.ofMillis(300), 2, Duration.ofMillis(10), Duration.ofMillis(10)));
        client.cardBalance(alice);
        sim.hang(CARD_BALANCE);
        long started = System.nanoTime();

        assertThatThrownBy(() -> client.cardBalance(alice)).isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(HttpTimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        sim.clearFaults();
    }

    @Test
    void a_refused_connection_is_retried_then_thrown() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        MercuryoClient client = client(URI.create("http://127.0.0.1:" + port), PARTNER_TOKEN, FAST);

        assertThatThrownBy(() -> client.cardBalance(alice)).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("4 attempt(s)");
    }
}
