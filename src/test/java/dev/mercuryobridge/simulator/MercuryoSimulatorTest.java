package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.http.Json;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.mercuryobridge.db.generated.Tables.SPEND_CARD_EVENT;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The simulator over real HTTP, and a scenario played through it into the real service. */
class MercuryoSimulatorTest {
    private static final String PARTNER_TOKEN = "sim-partner-token-0123";
    private static final String USER_IP = "203.0.113.7";
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private MercuryoSimulator sim;

    @BeforeEach
    void start() {
        sim = MercuryoSimulator.start(0, PARTNER_TOKEN);
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    // ------------------------------------------------------------------ authentication

    @Test
    void sign_in_creates_unknown_users_and_issues_a_new_token_each_time() throws Exception {
        JsonNode first = json(signIn("New.User@Example.com"));
        JsonNode second = json(signIn("new.user@example.com"));

        assertThat(first.get("status").asText()).isEqualTo("200");
        assertThat(first.at("/data/user_uuid").asText()).isEqualTo(second.at("/data/user_uuid").asText());
        assertThat(first.at("/data/bearer_token").asText()).isNotEqualTo(second.at("/data/bearer_token").asText());
        assertThat(sim.signIns()).isEqualTo(2);
        assertThat(sim.requests(MercuryoSimulator.SIGN_IN)).isEqualTo(2);
    }

    @Test
    void sign_in_without_the_partner_token_is_401000() throws Exception {
        assertError(send(post(MercuryoSimulator.SIGN_IN, "{\"accept\":true,\"email\":\"a@sim.test\"}").build()), 401, 401000);
        assertError(send(post(MercuryoSimulator.SIGN_IN, "{\"accept\":true,\"email\":\"a@sim.test\"}")
                .header(MercuryoSimulator.PARTNER_TOKEN_HEADER, "wrong").build()), 401, 401000);
        assertThat(sim.signIns()).isZero();
    }

    @Test
    void sign_in_without_accepted_terms_or_email_is_400001() throws Exception {
        for (String body : List.of("{\"email\":\"a@sim.test\"}", "{\"accept\":false,\"email\":\"a@sim.test\"}",
                "{\"accept\":true}", "{\"accept\":true,\"email\":\"\"}", "not json")) {
            assertError(send(post(MercuryoSimulator.SIGN_IN, body)
                    .header(MercuryoSimulator.PARTNER_TOKEN_HEADER, PARTNER_TOKEN).build()), 400, 400001);
        }
    }

    @Test
    void user_endpoint_without_b2b_user_ip_is_400001() throws Exception {
        sim.addUser("ip@sim.test");
        String token = token("ip@sim.test");
        HttpRequest request = HttpRequest.newBuilder(uri(MercuryoSimulator.CARD_BALANCE))
                .header(MercuryoSimulator.USER_TOKEN_HEADER, token).build();

        assertError(send(request), 400, 400001);
    }

    @Test
    void unknown_or_missing_user_token_is_401000() throws Exception {
        assertError(get(MercuryoSimulator.CARD_BALANCE, "no-such-token"), 401, 401000);
        assertError(send(HttpRequest.newBuilder(uri(MercuryoSimulator.CARD_STATUS))
                .header(MercuryoSimulator.USER_IP_HEADER, USER_IP).build()), 401, 401000);
    }

    @Test
    void refresh_token_issues_a_working_token_valid_for_a_day() throws Exception {
        CardUserRef user = sim.addUser("refresh@sim.test");
        JsonNode refreshed = json(get(MercuryoSimulator.REFRESH_TOKEN, token("refresh@sim.test")));

        assertThat(refreshed.at("/data/timeout").asLong()).isEqualTo(86_400);
        assertThat(refreshed.at("/data/user_uuid").asText()).isEqualTo(user.userUuid());
        assertThat(get(MercuryoSimulator.CARD_STATUS, refreshed.at("/data/bearer_token").asText()).statusCode()).isEqualTo(200);
    }

    // ------------------------------------------------------------------ card endpoints

    @Test
    void sell_request_status_has_the_reference_shape_and_follows_changes() throws Exception {
        CardUserRef user = sim.addUser("sell@sim.test");
        SellRequest request = sim.createSellRequest("sell@sim.test", "BTC", new BigDecimal("0.004"), new BigDecimal("95.38"));
        String token = token("sell@sim.test");
        String path = "/sdk-partner/spend/cards/sell-request/" + request.id() + "/status";

        JsonNode created = json(get(path, token));
        sim.setSellRequestStatus(request.id(), "succeeded");
        JsonNode done = json(get(path, token));

        assertThat(created.get("status").asText()).isEqualTo("200");
        assertThat(created.at("/data/status").asText()).isEqualTo("new");
        assertThat(created.at("/data/card_id").asText()).isEqualTo(user.cardId());
        assertThat(created.at("/data/address").asText()).isEqualTo(request.address());
        assertThat(created.at("/data/amounts/request/amount").asText()).isEqualTo("0.00400000");
        assertThat(created.at("/data/amounts/request/currency").asText()).isEqualTo("BTC");
        assertThat(created.at("/data/amounts/request/fiat_amount").asText()).isEqualTo("95.38");
        assertThat(created.at("/data/amounts/request/fiat_currency").asText()).isEqualTo("EUR");
        assertThat(created.at("/data/deposit_transaction").isArray()).isTrue();
        assertThat(done.at("/data/status").asText()).isEqualTo("succeeded");
        assertThat(sim.sellRequest(request.id()).orElseThrow().status()).isEqualTo("succeeded");
    }

    @Test
    void unknown_or_another_users_sell_request_is_404000() throws Exception {
        sim.addUser("owner@sim.test");
        sim.addUser("other@sim.test");
        SellRequest request = sim.createSellRequest("owner@sim.test", "ETH", new BigDecimal("0.05"), new BigDecimal("90.00"));

        assertError(get("/sdk-partner/spend/cards/sell-request/0000000000000000f/status", token("owner@sim.test")), 404, 404000);
        assertError(get("/sdk-partner/spend/cards/sell-request/" + request.id() + "/status", token("other@sim.test")), 404, 404000);
    }

    @Test
    void card_status_and_balance_answer_for_a_card_and_404000_without_one() throws Exception {
        CardUserRef user = sim.addUser("card@sim.test");
        sim.setBalance("card@sim.test", new BigDecimal("90"));
        String token = token("card@sim.test");

        JsonNode status = json(get(MercuryoSimulator.CARD_STATUS, token));
        JsonNode balance = json(get(MercuryoSimulator.CARD_BALANCE, token));

        assertThat(status.at("/data/status").asText()).isEqualTo("active");
        assertThat(status.at("/data/card_id").asText()).isEqualTo(user.cardId());
        assertThat(balance.at("/data/fiat_amount").asText()).isEqualTo("90.00");
        assertThat(balance.at("/data/fiat_currency").asText()).isEqualTo("EUR");
        String cardless = token("no-card@sim.test"); // signed up by the sign-in, no card opened
        assertError(get(MercuryoSimulator.CARD_BALANCE, cardless), 404, 404000);
        assertError(get(MercuryoSimulator.CARD_STATUS, cardless), 404, 404000);
        CardUserRef opened = sim.addUser("no-card@sim.test"); // the signed-up user gets a card
        assertThat(json(get(MercuryoSimulator.CARD_STATUS, cardless)).at("/data/card_id").asText()).isEqualTo(opened.cardId());
    }

    @Test
    void a_thousand_card_transactions_come_back_over_pages_of_50_via_next_cursor() throws Exception {
        sim.addUser("ledger@sim.test");
        List<CardTransaction> ledger = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            ledger.add(new CardTransaction(i % 3 == 0 ? "PURCHASE" : "TOP_UP", "CLEARED", BigDecimal.valueOf(100 + i, 2),
                    "EUR", "Counterparty " + i, Instant.ofEpochSecond(Scenario.EPOCH + i)));
        }
        sim.addCardTransactions("ledger@sim.test", ledger);
        String token = token("ledger@sim.test");

        List<JsonNode> items = new ArrayList<>();
        int pages = 0;
        String cursor = null;
        do {
            JsonNode page = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=50" + (cursor == null ? "" : "&cursor=" + cursor), token));
            pages++;
            assertThat(page.at("/data/pagination/limit").asInt()).isEqualTo(50);
            page.at("/data/items").forEach(items::add);
            JsonNode next = page.at("/data/pagination/next_cursor");
            cursor = next.isNull() ? null : next.asText();
        } while (cursor != null && pages < 100);

        assertThat(pages).isEqualTo(20);
        assertThat(items).hasSize(1_000);
        // Newest first: item k is ledger entry 999 - k, with every field as stored.
        for (int k = 0; k < items.size(); k++) {
            CardTransaction expected = ledger.get(999 - k);
            JsonNode item = items.get(k);
            assertThat(item.get("amount").asText()).isEqualTo(expected.amount().toPlainString());
            assertThat(item.get("type").asText()).isEqualTo(expected.type());
            assertThat(item.get("status").asText()).isEqualTo("CLEARED");
            assertThat(item.get("currency").asText()).isEqualTo("EUR");
            assertThat(item.get("counterparty_name").asText()).isEqualTo(expected.counterpartyName());
            assertThat(item.get("timestamp").asText()).isEqualTo(expected.timestamp().toString());
        }
        assertThat(json(get(MercuryoSimulator.CARD_TRANSACTIONS, token)).at("/data/items")).hasSize(50);
        assertError(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=101", token), 400, 400001);
        assertError(get(MercuryoSimulator.CARD_TRANSACTIONS + "?cursor=bm9wZQ", token), 400, 400001);
    }

    // ------------------------------------------------------------------ faults

    @Test
    void fail_next_answers_n_times_500001_then_succeeds() throws Exception {
        sim.addUser("fail@sim.test");
        String token = token("fail@sim.test");
        sim.failNext(3);

        for (int i = 0; i < 3; i++) {
            assertError(get(MercuryoSimulator.CARD_BALANCE, token), 500, 500001);
        }
        assertThat(get(MercuryoSimulator.CARD_BALANCE, token).statusCode()).isEqualTo(200);
        assertThat(sim.requests(MercuryoSimulator.CARD_BALANCE)).isEqualTo(4);
    }

    @Test
    void expired_tokens_answer_401000_until_a_new_sign_in() throws Exception {
        sim.addUser("expire@sim.test");
        String old = token("expire@sim.test");
        sim.expireAllTokens();

        assertError(get(MercuryoSimulator.CARD_BALANCE, old), 401, 401000);
        assertError(get(MercuryoSimulator.REFRESH_TOKEN, old), 401, 401000);
        assertThat(get(MercuryoSimulator.CARD_BALANCE, token("expire@sim.test")).statusCode()).isEqualTo(200);
    }

    @Test
    void a_hung_path_gets_no_answer_until_the_fault_is_cleared() throws Exception {
        sim.addUser("hang@sim.test");
        String token = token("hang@sim.test");
        sim.hang("/sdk-partner/spend/");
        HttpRequest balance = userRequest(MercuryoSimulator.CARD_BALANCE, token).timeout(Duration.ofMillis(300)).build();

        assertThatThrownBy(() -> HTTP.send(balance, HttpResponse.BodyHandlers.ofString())).isInstanceOf(HttpTimeoutException.class);
        assertThat(get(MercuryoSimulator.REFRESH_TOKEN, token).statusCode()).isEqualTo(200); // other paths still answer
        sim.clearFaults();
        assertThat(send(balance).statusCode()).isEqualTo(200);
    }

    @Test
    void slow_delays_every_answer_until_cleared() throws Exception {
        sim.addUser("slow@sim.test");
        String token = token("slow@sim.test");
        sim.slow(Duration.ofMillis(400));

        long started = System.nanoTime();
        assertThat(get(MercuryoSimulator.CARD_STATUS, token).statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(400));
        sim.clearFaults();
        started = System.nanoTime();
        assertThat(get(MercuryoSimulator.CARD_STATUS, token).statusCode()).isEqualTo(200);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(400));
    }

    @Test
    void faults_can_be_switched_over_http_for_dev_mode() throws Exception {
        sim.addUser("dev@sim.test");
        String token = token("dev@sim.test");

        HttpResponse<String> set = send(post(MercuryoSimulator.FAULTS, "{\"fail_next\":1,\"hang\":\"/nowhere\"}").build());
        assertThat(set.statusCode()).isEqualTo(200);
        assertThat(json(set).get("fail_next").asInt()).isEqualTo(1);
        assertError(get(MercuryoSimulator.CARD_STATUS, token), 500, 500001);
        assertThat(get(MercuryoSimulator.CARD_STATUS, token).statusCode()).isEqualTo(200);

        send(post(MercuryoSimulator.FAULTS, "{\"expire_all_tokens\":true}").build());
        assertError(get(MercuryoSimulator.CARD_STATUS, token), 401, 401000);
        HttpResponse<String> cleared = send(post(MercuryoSimulator.FAULTS, "{\"clear\":true}").build());
        assertThat(json(cleared).get("hang")).isEmpty();
        assertError(send(post(MercuryoSimulator.FAULTS, "{\"no_such_fault\":1}").build()), 400, 400001);
    }

    // ------------------------------------------------------------------ scenario

    @Test
    void a_scenario_is_deterministic_and_its_ledger_matches_its_events() throws Exception {
        Scenario.Config config = new Scenario.Config(7, 5, 40, 4, 0.1, 0.05, 0.05, Duration.ZERO, 0.2);
        Truth truth = new Scenario(config).truth();

        assertThat(new Scenario(config).truth()).isEqualTo(truth);
        assertThat(new Scenario(new Scenario.Config(8, 5, 40, 4, 0.1, 0.05, 0.05, Duration.ZERO, 0.2)).truth()).isNotEqualTo(truth);
        assertThat(truth.finalStatusBySellRequest()).hasSize(40).allSatisfy((id, status) -> {
            assertThat(id).matches("0[0-9a-f]{16}");
            assertThat(status).isIn("succeeded", "failed");
        });
        // Each sell request's callbacks: new, pending, final, with strictly increasing updated_at_ts.
        Map<String, List<SimCallback>> bySellRequest = new HashMap<>();
        truth.callbacks().stream().filter(c -> c.kind() == SimCallback.Kind.TRANSACTION)
                .forEach(c -> bySellRequest.computeIfAbsent(c.sellRequestId(), k -> new ArrayList<>()).add(c));
        bySellRequest.forEach((id, callbacks) -> {
            assertThat(callbacks).extracting(SimCallback::status)
                    .containsExactly("new", "pending", truth.finalStatusBySellRequest().get(id));
            assertThat(callbacks.get(0).updatedAtTs()).isLessThan(callbacks.get(1).updatedAtTs());
            assertThat(callbacks.get(1).updatedAtTs()).isLessThan(callbacks.get(2).updatedAtTs());
        });
        // Every card event's transaction object equals a ledger item field for field; the balance
        // is what the ledger adds up to and never went below zero.
        for (SimCallback event : truth.callbacks()) {
            if (event.cardTransaction() != null) {
                JsonNode tx = Json.MAPPER.readTree(event.body()).get("transaction");
                CardTransaction item = event.cardTransaction();
                assertThat(tx.get("type").asText()).isEqualTo(item.type());
                assertThat(tx.get("status").asText()).isEqualTo(item.status());
                assertThat(tx.get("amount").asText()).isEqualTo(MercuryoSimulator.money(item.amount()));
                assertThat(tx.get("currency").asText()).isEqualTo(item.currency());
                assertThat(tx.get("timestamp").asText()).isEqualTo(item.timestamp().toString());
            }
        }
        truth.ledgerByEmail().forEach((email, ledger) -> {
            BigDecimal balance = BigDecimal.ZERO;
            for (CardTransaction t : ledger) {
                balance = t.credits() ? balance.add(t.amount()) : balance.subtract(t.amount());
                assertThat(balance.signum()).isGreaterThanOrEqualTo(0);
            }
            assertThat(balance).isEqualByComparingTo(truth.finalBalanceByEmail().get(email));
        });
    }

    @Test
    void a_scenario_through_the_real_service_stores_the_status_mercuryo_last_delivered() throws Exception {
        Scenario.Config config = new Scenario.Config(42, 20, 200, 5, 0.10, 0.05, 0.05, Duration.ZERO, 0.2);
        assertThat(new Scenario(config).truth()).isEqualTo(new Scenario(config).truth());

        try (TestApp app = TestApp.start();
             CallbackSender sender = new CallbackSender(URI.create("http://127.0.0.1:" + app.app().httpPort()), TestApp.SIGN_KEY)) {
            Scenario.Run run = new Scenario(config).run(sim, sender);
            Truth truth = run.truth();
            CallbackSender.Result result = run.result();

            assertThat(result.non200Answers()).isZero();
            assertThat(result.transportErrors()).isZero();
            assertThat(result.undelivered()).isEmpty();
            assertThat(result.dropped()).isEqualTo(truth.dropped().size()).isPositive();
            assertThat(result.duplicated()).isEqualTo(truth.duplicated().size()).isPositive();
            assertThat(result.reordered()).isEqualTo(truth.reordered().size()).isPositive();
            assertThat(result.sent()).isEqualTo(result.planned() - result.dropped());
            // The drops must have hit some final statuses, or this run would not exercise a reconciler.
            assertThat(truth.sellRequestsWhoseLastDeliveredStatusIsNotFinal()).isNotEmpty();

            Map<String, String> stored = app.dsl().select(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS)
                    .from(TRANSACTION_STATE).fetchMap(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS);
            truth.sellRequestsWithFinalDelivered().forEach((id, status) -> {
                assertThat(stored.get(id)).as("stored status of %s", id).isEqualTo(status);
                assertThat(sim.sellRequest(id).orElseThrow().status()).isEqualTo(status);
            });
            // Late and duplicated older statuses never moved a transaction backwards.
            assertThat(stored).isEqualTo(truth.lastDeliveredStatusBySellRequest());
            truth.sellRequestsNeverDelivered().forEach(id -> assertThat(stored).doesNotContainKey(id));
            assertThat(app.dsl().fetchCount(SPEND_CARD_EVENT)).isEqualTo(truth.deliveredCardEvents().size());

            // The simulator's API ends at the truth, whatever was delivered.
            truth.finalStatusBySellRequest().forEach((id, status) ->
                    assertThat(sim.sellRequest(id).orElseThrow().status()).isEqualTo(status));
            String email = "user-1@sim.test";
            String token = token(email);
            assertThat(json(get(MercuryoSimulator.CARD_BALANCE, token)).at("/data/fiat_amount").asText())
                    .isEqualTo(MercuryoSimulator.money(truth.finalBalanceByEmail().get(email)));
            JsonNode page = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=100", token));
            List<CardTransaction> ledger = truth.ledgerByEmail().get(email);
            assertThat(page.at("/data/items")).hasSize(Math.min(100, ledger.size()));
            assertThat(page.at("/data/items/0/timestamp").asText()).isEqualTo(ledger.getLast().timestamp().toString());
        }
    }

    // ------------------------------------------------------------------ helpers

    private HttpResponse<String> signIn(String email) {
        return send(post(MercuryoSimulator.SIGN_IN, "{\"accept\":true,\"email\":\"" + email + "\"}")
                .header(MercuryoSimulator.PARTNER_TOKEN_HEADER, PARTNER_TOKEN).build());
    }

    private String token(String email) throws IOException {
        HttpResponse<String> response = signIn(email);
        assertThat(response.statusCode()).isEqualTo(200);
        return json(response).at("/data/bearer_token").asText();
    }

    private HttpResponse<String> get(String path, String token) {
        return send(userRequest(path, token).build());
    }

    private HttpRequest.Builder userRequest(String path, String token) {
        return HttpRequest.newBuilder(uri(path))
                .timeout(Duration.ofSeconds(10))
                .header(MercuryoSimulator.USER_TOKEN_HEADER, token)
                .header(MercuryoSimulator.USER_IP_HEADER, USER_IP);
    }

    private HttpRequest.Builder post(String path, String body) {
        return HttpRequest.newBuilder(uri(path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private URI uri(String path) {
        return sim.baseUrl().resolve(path);
    }

    private static HttpResponse<String> send(HttpRequest request) {
        return TestApp.send(request);
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return Json.MAPPER.readTree(response.body());
    }

    private static void assertError(HttpResponse<String> response, int status, int code) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode body = json(response);
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.get("code").asInt()).isEqualTo(code);
        assertThat(body.get("message").asText()).isNotBlank();
    }
}
