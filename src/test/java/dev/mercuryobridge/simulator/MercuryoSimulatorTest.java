package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
    void sign_in_answers_only_the_documented_fields_creates_unknown_users_and_issues_a_new_token_each_time() throws Exception {
        JsonNode first = json(signIn("New.User@Example.com"));
        JsonNode second = json(signIn("new.user@example.com"));

        assertThat(fields(first)).containsExactlyInAnyOrder("data", "status");
        assertThat(first.get("status").asText()).isEqualTo("200");
        assertThat(fields(first.get("data"))).containsExactlyInAnyOrder("bearer_token", "user_uuid");
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
        HttpRequest request = HttpRequest.newBuilder(sim.url(MercuryoSimulator.CARD_BALANCE))
                .header(MercuryoSimulator.USER_TOKEN_HEADER, token).build();

        assertError(send(request), 400, 400001);
    }

    @Test
    void unknown_or_missing_user_token_is_401000() throws Exception {
        assertError(get(MercuryoSimulator.CARD_BALANCE, "no-such-token"), 401, 401000);
        assertError(send(HttpRequest.newBuilder(sim.url(MercuryoSimulator.CARD_STATUS))
                .header(MercuryoSimulator.USER_IP_HEADER, USER_IP).build()), 401, 401000);
    }

    @Test
    void refresh_with_both_tokens_answers_only_the_documented_fields_and_a_working_token_valid_for_a_day() throws Exception {
        CardUserRef user = sim.addUser("refresh@sim.test");
        JsonNode refreshed = json(send(refresh(token("refresh@sim.test"), PARTNER_TOKEN)));

        assertThat(fields(refreshed.get("data"))).containsExactlyInAnyOrder("bearer_token", "timeout", "user_uuid");
        assertThat(refreshed.at("/data/timeout").asLong()).isEqualTo(86_400);
        assertThat(refreshed.at("/data/user_uuid").asText()).isEqualTo(user.userUuid());
        assertThat(get(MercuryoSimulator.CARD_STATUS, refreshed.at("/data/bearer_token").asText()).statusCode()).isEqualTo(200);
    }

    @Test
    void refresh_without_the_partner_token_or_with_a_wrong_one_or_an_unknown_user_token_is_401000() throws Exception {
        sim.addUser("refresh@sim.test");
        String token = token("refresh@sim.test");

        assertError(send(refresh(token, null)), 401, 401000);
        assertError(send(refresh(token, "wrong-partner-token")), 401, 401000);
        assertError(send(refresh("no-such-token", PARTNER_TOKEN)), 401, 401000);
        assertThat(send(refresh(token, PARTNER_TOKEN)).statusCode()).isEqualTo(200);
    }

    // ------------------------------------------------------------------ card endpoints

    @Test
    void sell_request_status_has_exactly_the_documented_shape_and_follows_changes() throws Exception {
        CardUserRef user = sim.addUser("sell@sim.test");
        SellRequest request = sim.createSellRequest("sell@sim.test", "BTC", new BigDecimal("0.004"), new BigDecimal("95.38"));
        String token = token("sell@sim.test");
        String path = "/sdk-partner/spend/cards/sell-request/" + request.id() + "/status";

        JsonNode created = json(get(path, token));
        sim.setSellRequestStatus(request.id(), "succeeded");
        JsonNode done = json(get(path, token));

        assertThat(created.get("status").asText()).isEqualTo("200");
        assertThat(fields(created.get("data"))).containsExactlyInAnyOrder("address", "amounts", "card_id", "deposit_transaction", "status");
        assertThat(fields(created.at("/data/amounts"))).containsExactly("request");
        assertThat(fields(created.at("/data/amounts/request"))).containsExactlyInAnyOrder("amount", "currency", "fiat_amount", "fiat_currency");
        assertThat(created.at("/data/status").asText()).isEqualTo("new");
        assertThat(created.at("/data/card_id").asText()).isEqualTo(user.cardId());
        assertThat(created.at("/data/address").asText()).isEqualTo(request.address());
        assertThat(created.at("/data/amounts/request/amount").asText()).isEqualTo("0.00400000");
        assertThat(created.at("/data/amounts/request/currency").asText()).isEqualTo("BTC");
        assertThat(created.at("/data/amounts/request/fiat_amount").asText()).isEqualTo("95.38");
        assertThat(created.at("/data/amounts/request/fiat_currency").asText()).isEqualTo("EUR");
        assertThat(created.at("/data/deposit_transaction").isArray()).isTrue();
        assertThat(created.at("/data/deposit_transaction")).isEmpty();
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
    void a_sell_request_id_arrives_percent_encoded_and_is_found_decoded() throws Exception {
        CardUserRef user = sim.addUser("odd@sim.test");
        sim.createSellRequest(new SellRequest("sr 1+x", user.userUuid(), user.cardId(), "pending", new BigDecimal("0.001"),
                "BTC", new BigDecimal("25.00"), "EUR", "tb1qaddress", "m-1"));

        HttpResponse<String> response = get("/sdk-partner/spend/cards/sell-request/sr%201%2Bx/status", token("odd@sim.test"));

        assertThat(json(response).at("/data/status").asText()).isEqualTo("pending");
        MercuryoSimulator.RecordedRequest request = sim.requestsTo(MercuryoSimulator.SELL_REQUEST_STATUS).getFirst();
        assertThat(request.path()).isEqualTo("/sdk-partner/spend/cards/sell-request/sr%201%2Bx/status");
    }

    @Test
    void card_status_is_only_the_status_and_balance_has_the_documented_shape_and_both_are_404000_without_a_card() throws Exception {
        sim.addUser("card@sim.test");
        sim.setBalance("card@sim.test", new BigDecimal("90"));
        String token = token("card@sim.test");

        JsonNode status = json(get(MercuryoSimulator.CARD_STATUS, token));
        JsonNode balance = json(get(MercuryoSimulator.CARD_BALANCE, token));

        assertThat(status.get("data")).isEqualTo(Json.MAPPER.readTree("{\"status\":\"active\"}"));
        assertThat(fields(balance.get("data"))).containsExactlyInAnyOrder("fiat_amount", "fiat_currency");
        assertThat(balance.at("/data/fiat_amount").asText()).isEqualTo("90.00");
        assertThat(balance.at("/data/fiat_currency").asText()).isEqualTo("EUR");
        String cardless = token("no-card@sim.test"); // signed up by the sign-in, no card opened
        assertError(get(MercuryoSimulator.CARD_BALANCE, cardless), 404, 404000);
        assertError(get(MercuryoSimulator.CARD_STATUS, cardless), 404, 404000);
        sim.addUser("no-card@sim.test"); // the signed-up user gets a card
        assertThat(json(get(MercuryoSimulator.CARD_STATUS, cardless)).at("/data/status").asText()).isEqualTo("active");
    }

    @Test
    void users_get_distinct_ips_from_the_documentation_ranges() {
        Set<String> ips = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            ips.add(sim.addUser("ip-" + i + "@sim.test").ip());
        }

        assertThat(ips).hasSize(300).allMatch(ip -> ip.startsWith("203.0.113.") || ip.startsWith("198.51.100."));
        assertThat(sim.addUser("own@sim.test", "uuid-own", "card-own", "198.51.100.9").ip()).isEqualTo("198.51.100.9");
    }

    @Test
    void a_thousand_card_transactions_come_back_newest_first_over_pages_of_50_in_the_documented_shape() throws Exception {
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
        JsonNode page;
        do {
            page = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=50" + (cursor == null ? "" : "&cursor=" + cursor), token));
            pages++;
            assertThat(fields(page.get("data"))).containsExactlyInAnyOrder("items", "pagination");
            assertThat(fields(page.at("/data/pagination"))).containsExactlyInAnyOrder("limit", "next_cursor");
            assertThat(page.at("/data/pagination/limit").asInt()).isEqualTo(50);
            page.at("/data/items").forEach(items::add);
            JsonNode next = page.at("/data/pagination/next_cursor");
            cursor = next.isNull() ? null : next.asText();
        } while (cursor != null && pages < 100);

        assertThat(pages).isEqualTo(20);
        assertThat(page.at("/data/pagination").has("next_cursor")).isTrue(); // the last page says null, it does not omit it
        assertThat(items).hasSize(1_000);
        // Newest first: item k is ledger entry 999 - k, with every field as stored and no other.
        for (int k = 0; k < items.size(); k++) {
            CardTransaction expected = ledger.get(999 - k);
            JsonNode item = items.get(k);
            assertThat(fields(item)).containsExactlyInAnyOrder("amount", "counterparty_name", "currency", "status", "timestamp", "type");
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

    @Test
    void an_empty_ledger_is_one_empty_page_with_a_null_cursor() throws Exception {
        sim.addUser("empty@sim.test");

        JsonNode page = json(get(MercuryoSimulator.CARD_TRANSACTIONS, token("empty@sim.test")));

        assertThat(page.at("/data/items")).isEmpty();
        assertThat(page.at("/data/pagination/next_cursor").isNull()).isTrue();
    }

    @Test
    void a_purchase_is_authorized_then_cleared_or_reversed_in_place_and_a_decline_moves_nothing() throws Exception {
        sim.addUser("spend@sim.test");
        sim.postCardTransaction("spend@sim.test", item("TOP_UP", "CLEARED", "100.00", 0));
        CardTransaction coffee = item("PURCHASE", "AUTHORIZED", "30.00", 10);
        CardTransaction hotel = item("PURCHASE", "AUTHORIZED", "50.00", 20);
        String token = token("spend@sim.test");

        assertThat(sim.authorize("spend@sim.test", coffee).status()).isEqualTo("AUTHORIZED");
        assertThat(balanceOverApi(token)).isEqualTo("70.00");
        sim.authorize("spend@sim.test", hotel);
        assertThat(balanceOverApi(token)).isEqualTo("20.00");
        assertThat(sim.clear("spend@sim.test", coffee).status()).isEqualTo("CLEARED");
        assertThat(balanceOverApi(token)).isEqualTo("20.00");
        assertThat(sim.reverse("spend@sim.test", hotel).status()).isEqualTo("REVERSED");
        assertThat(balanceOverApi(token)).isEqualTo("70.00");
        assertThat(sim.decline("spend@sim.test", item("PURCHASE", "AUTHORIZED", "500.00", 30)).status()).isEqualTo("DECLINED");
        assertThat(balanceOverApi(token)).isEqualTo("70.00");

        // Four items, not six: clearing and reversing changed the purchases' items in place.
        JsonNode items = json(get(MercuryoSimulator.CARD_TRANSACTIONS, token)).at("/data/items");
        assertThat(items).hasSize(4);
        assertThat(items.findValuesAsText("status")).containsExactly("DECLINED", "REVERSED", "CLEARED", "CLEARED");
        assertThat(items.findValuesAsText("timestamp")).containsExactly(
                at(30).toString(), at(20).toString(), at(10).toString(), at(0).toString());
        // Only an authorized item can be settled, once.
        assertThatThrownBy(() -> sim.clear("spend@sim.test", coffee)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> sim.reverse("spend@sim.test", item("PURCHASE", "AUTHORIZED", "1.00", 99)))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> sim.authorize("spend@sim.test", item("TOP_UP", "CLEARED", "1.00", 98)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ routing

    @Test
    void a_path_the_api_does_not_have_is_an_html_404_page_not_mercuryo_json() throws Exception {
        sim.addUser("route@sim.test");
        String token = token("route@sim.test");

        for (String path : List.of("/sdk-partner/spend/cards/nope", "/v1.6" + MercuryoSimulator.CARD_BALANCE, "/")) {
            HttpResponse<String> response = get(path, token);
            assertThat(response.statusCode()).as(path).isEqualTo(404);
            assertThat(response.headers().firstValue("Content-Type").orElse("")).as(path).startsWith("text/html");
            assertThat(response.body()).as(path).isEqualTo(MercuryoSimulator.NOT_FOUND_PAGE).doesNotContain("404000");
        }
    }

    @Test
    void a_known_path_with_the_wrong_method_is_mercuryos_405000() throws Exception {
        assertError(send(HttpRequest.newBuilder(sim.url(MercuryoSimulator.SIGN_IN)).GET().build()), 405, 405000);
        assertError(send(post(MercuryoSimulator.CARD_BALANCE, "{}").build()), 405, 405000);
    }

    @Test
    void with_a_base_path_every_route_is_served_under_it_and_the_bare_paths_are_404_pages() throws Exception {
        try (MercuryoSimulator versioned = MercuryoSimulator.start(0, PARTNER_TOKEN, "/v1.6")) {
            versioned.addUser("v@sim.test");
            assertThat(versioned.baseUrl().toString()).isEqualTo(versioned.rootUrl() + "/v1.6");
            HttpResponse<String> signIn = send(HttpRequest.newBuilder(versioned.url(MercuryoSimulator.SIGN_IN))
                    .header("Content-Type", "application/json").header(MercuryoSimulator.PARTNER_TOKEN_HEADER, PARTNER_TOKEN)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"accept\":true,\"email\":\"v@sim.test\"}")).build());
            String token = json(signIn).at("/data/bearer_token").asText();

            HttpResponse<String> balance = send(HttpRequest.newBuilder(versioned.url(MercuryoSimulator.CARD_BALANCE))
                    .header(MercuryoSimulator.USER_TOKEN_HEADER, token).header(MercuryoSimulator.USER_IP_HEADER, USER_IP).build());
            HttpResponse<String> bare = send(HttpRequest.newBuilder(versioned.rootUrl().resolve(MercuryoSimulator.CARD_BALANCE))
                    .header(MercuryoSimulator.USER_TOKEN_HEADER, token).header(MercuryoSimulator.USER_IP_HEADER, USER_IP).build());
            HttpResponse<String> faults = send(HttpRequest.newBuilder(versioned.rootUrl().resolve(MercuryoSimulator.FAULTS)).build());

            assertThat(signIn.statusCode()).isEqualTo(200);
            assertThat(balance.statusCode()).isEqualTo(200);
            assertThat(bare.statusCode()).isEqualTo(404);
            assertThat(bare.body()).isEqualTo(MercuryoSimulator.NOT_FOUND_PAGE);
            assertThat(faults.statusCode()).isEqualTo(200);
            // The log shows paths without the base path, and the bare one as it came, matching no endpoint.
            assertThat(versioned.requests()).extracting(MercuryoSimulator.RecordedRequest::path)
                    .containsExactly(MercuryoSimulator.SIGN_IN, MercuryoSimulator.CARD_BALANCE, MercuryoSimulator.CARD_BALANCE);
            assertThat(versioned.requests()).extracting(MercuryoSimulator.RecordedRequest::endpoint)
                    .containsExactly(MercuryoSimulator.SIGN_IN, MercuryoSimulator.CARD_BALANCE, null);
            assertThat(versioned.requests(MercuryoSimulator.CARD_BALANCE)).isEqualTo(1);
        }
        assertThatThrownBy(() -> MercuryoSimulator.start(0, PARTNER_TOKEN, "v1.6/")).isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ the request log

    @Test
    void the_request_log_holds_method_path_query_headers_and_body_of_every_request_until_cleared() throws Exception {
        sim.addUser("log@sim.test");
        String token = token("log@sim.test");
        send(refresh(token, PARTNER_TOKEN));
        get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=7&cursor=abc", token);

        List<MercuryoSimulator.RecordedRequest> log = sim.requests();

        assertThat(log).extracting(MercuryoSimulator.RecordedRequest::method).containsExactly("POST", "GET", "GET");
        MercuryoSimulator.RecordedRequest signIn = log.get(0);
        assertThat(signIn.endpoint()).isEqualTo(MercuryoSimulator.SIGN_IN);
        assertThat(Json.MAPPER.readTree(signIn.body())).isEqualTo(Json.MAPPER.readTree("{\"accept\":true,\"email\":\"log@sim.test\"}"));
        assertThat(signIn.header("sdk-partner-token")).isEqualTo(PARTNER_TOKEN); // any case
        MercuryoSimulator.RecordedRequest refresh = sim.requestsTo(MercuryoSimulator.REFRESH_TOKEN).getFirst();
        assertThat(refresh.header(MercuryoSimulator.PARTNER_TOKEN_HEADER)).isEqualTo(PARTNER_TOKEN);
        assertThat(refresh.header(MercuryoSimulator.USER_TOKEN_HEADER)).isEqualTo(token);
        assertThat(refresh.header(MercuryoSimulator.USER_IP_HEADER)).isEqualTo(USER_IP);
        MercuryoSimulator.RecordedRequest transactions = log.get(2);
        assertThat(transactions.path()).isEqualTo(MercuryoSimulator.CARD_TRANSACTIONS);
        assertThat(transactions.query()).isEqualTo(Map.of("limit", "7", "cursor", "abc"));
        assertThat(transactions.body()).isEmpty();

        sim.clearRequests();
        assertThat(sim.requests()).isEmpty();
        get(MercuryoSimulator.CARD_STATUS, token);
        assertThat(sim.requestsTo(MercuryoSimulator.CARD_STATUS)).hasSize(1);
        assertThat(sim.requests(MercuryoSimulator.CARD_STATUS)).isEqualTo(1); // counters are separate
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
    void fail_with_answers_each_documented_code_as_often_as_asked_then_the_endpoint_answers_normally() throws Exception {
        sim.addUser("codes@sim.test");
        String token = token("codes@sim.test");
        SellRequest request = sim.createSellRequest("codes@sim.test", "BTC", new BigDecimal("0.001"), new BigDecimal("25.00"));
        String status = "/sdk-partner/spend/cards/sell-request/" + request.id() + "/status";
        record Case(String endpoint, int http, int code, String message) {}
        List<Case> cases = List.of(
                new Case(MercuryoSimulator.SELL_REQUEST_STATUS, 400, 400064, "User not found by token"),
                new Case(MercuryoSimulator.CARD_TRANSACTIONS, 400, 400086, "Failed to get transactions."),
                new Case(MercuryoSimulator.CARD_BALANCE, 400, 400210, "Invalid card status"),
                new Case(MercuryoSimulator.SIGN_IN, 403, 403007, "There's another active transaction"),
                new Case(MercuryoSimulator.SIGN_IN, 403, 403009, "User account is locked"),
                new Case(MercuryoSimulator.REFRESH_TOKEN, 403, 403020, "IP is blacklisted"),
                new Case(MercuryoSimulator.CARD_STATUS, 500, 500001, "Various reasons"),
                new Case(MercuryoSimulator.SELL_REQUEST_STATUS, 401, 401000, "Authorization failed"));
        Map<String, String> paths = Map.of(MercuryoSimulator.SELL_REQUEST_STATUS, status);

        for (Case c : cases) {
            sim.failWith(c.endpoint(), c.http(), c.code(), c.message(), 2);
            for (int i = 0; i < 2; i++) {
                HttpResponse<String> failed = call(c.endpoint(), paths, token);
                assertError(failed, c.http(), c.code());
                assertThat(json(failed).get("message").asText()).isEqualTo(c.message());
            }
            assertThat(call(c.endpoint(), paths, token).statusCode()).as(c.toString()).isEqualTo(200);
        }
        assertThatThrownBy(() -> sim.failWith("/no/such/endpoint", 400, 400001, "x", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sim.failWith(MercuryoSimulator.SIGN_IN, 400, 4001, "x", 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fail_with_for_one_user_hits_only_that_users_sign_ins_and_calls() throws Exception {
        sim.addUser("busy@sim.test");
        sim.addUser("calm@sim.test");
        String busy = token("busy@sim.test");
        String calm = token("calm@sim.test");
        sim.failWith(MercuryoSimulator.SIGN_IN, "Busy@sim.test", 403, 403007, "There's another active transaction", 1);
        sim.failWith(MercuryoSimulator.CARD_BALANCE, "busy@sim.test", 400, 400210, "Invalid card status", 1);

        assertThat(signIn("calm@sim.test").statusCode()).isEqualTo(200);
        assertError(signIn("busy@sim.test"), 403, 403007);
        assertThat(signIn("busy@sim.test").statusCode()).isEqualTo(200);
        assertThat(get(MercuryoSimulator.CARD_BALANCE, calm).statusCode()).isEqualTo(200);
        assertError(get(MercuryoSimulator.CARD_BALANCE, busy), 400, 400210);
        assertThat(get(MercuryoSimulator.CARD_BALANCE, busy).statusCode()).isEqualTo(200);
    }

    @Test
    void answer_raw_gives_answers_that_are_not_mercuryos_json_then_normal_ones() throws Exception {
        sim.addUser("raw@sim.test");
        String token = token("raw@sim.test");
        sim.answerRaw(MercuryoSimulator.CARD_BALANCE, 502, "text/html", "<html><body>Bad Gateway</body></html>", 1);
        sim.answerRaw(MercuryoSimulator.CARD_BALANCE, 404, null, "", 1);
        sim.answerRaw(MercuryoSimulator.CARD_BALANCE, 200, "text/plain", "{\"data\":{\"fiat_amount\":\"1.00\"},\"status\":\"200\"}", 1);
        sim.answerRaw(MercuryoSimulator.CARD_BALANCE, 200, "application/json", "[]", 1);

        HttpResponse<String> html = get(MercuryoSimulator.CARD_BALANCE, token);
        HttpResponse<String> empty404 = get(MercuryoSimulator.CARD_BALANCE, token);
        HttpResponse<String> wrongType = get(MercuryoSimulator.CARD_BALANCE, token);
        HttpResponse<String> notAnObject = get(MercuryoSimulator.CARD_BALANCE, token);
        HttpResponse<String> normal = get(MercuryoSimulator.CARD_BALANCE, token);

        assertThat(html.statusCode()).isEqualTo(502);
        assertThat(html.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
        assertThat(html.body()).isEqualTo("<html><body>Bad Gateway</body></html>");
        assertThat(empty404.statusCode()).isEqualTo(404);
        assertThat(empty404.body()).isEmpty();
        assertThat(wrongType.statusCode()).isEqualTo(200);
        assertThat(wrongType.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
        assertThat(notAnObject.statusCode()).isEqualTo(200);
        assertThat(notAnObject.body()).isEqualTo("[]");
        assertThat(json(normal).at("/data/fiat_amount").asText()).isEqualTo("0.00");
    }

    @Test
    void a_blacklisted_ip_is_403020_on_every_call_that_carries_it() throws Exception {
        sim.addUser("black@sim.test");
        String token = token("black@sim.test");
        sim.blacklistIp(USER_IP);

        assertError(get(MercuryoSimulator.CARD_BALANCE, token), 403, 403020);
        assertError(get(MercuryoSimulator.CARD_STATUS, token), 403, 403020);
        assertError(send(refresh(token, PARTNER_TOKEN)), 403, 403020);
        HttpResponse<String> otherIp = send(HttpRequest.newBuilder(sim.url(MercuryoSimulator.CARD_BALANCE))
                .header(MercuryoSimulator.USER_TOKEN_HEADER, token).header(MercuryoSimulator.USER_IP_HEADER, "198.51.100.1").build());
        assertThat(otherIp.statusCode()).isEqualTo(200);
        sim.clearFaults();
        assertThat(get(MercuryoSimulator.CARD_BALANCE, token).statusCode()).isEqualTo(200);
    }

    @Test
    void looping_pagination_sends_the_client_back_with_the_cursor_it_just_sent() throws Exception {
        sim.addUser("loop@sim.test");
        sim.addUser("fine@sim.test");
        for (String email : List.of("loop@sim.test", "fine@sim.test")) {
            sim.addCardTransactions(email, List.of(item("TOP_UP", "CLEARED", "10.00", 0), item("TOP_UP", "CLEARED", "20.00", 1)));
        }
        String token = token("loop@sim.test");
        sim.loopPagination("loop@sim.test");

        JsonNode first = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=1", token)).get("data");
        String cursor = first.at("/pagination/next_cursor").asText();
        JsonNode second = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=1&cursor=" + cursor, token)).get("data");

        assertThat(cursor).isNotEmpty();
        assertThat(second.at("/pagination/next_cursor").asText()).isEqualTo(cursor);
        assertThat(second.get("items")).isEqualTo(first.get("items"));
        // Another user pages normally: two pages, the last with a null cursor.
        String fine = token("fine@sim.test");
        String next = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=1", fine)).at("/data/pagination/next_cursor").asText();
        assertThat(json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=1&cursor=" + next, fine))
                .at("/data/pagination/next_cursor").isNull()).isTrue();
    }

    @Test
    void empty_pages_with_a_cursor_have_no_items_and_a_new_non_null_cursor_each_time() throws Exception {
        sim.addUser("hollow@sim.test");
        sim.addCardTransactions("hollow@sim.test", List.of(item("TOP_UP", "CLEARED", "10.00", 0)));
        String token = token("hollow@sim.test");
        sim.emptyPagesWithCursor("hollow@sim.test");

        Set<String> cursors = new HashSet<>();
        String cursor = null;
        for (int i = 0; i < 3; i++) {
            JsonNode page = json(get(MercuryoSimulator.CARD_TRANSACTIONS + (cursor == null ? "" : "?cursor=" + cursor), token));
            assertThat(page.at("/data/items")).isEmpty();
            cursor = page.at("/data/pagination/next_cursor").textValue();
            assertThat(cursor).isNotNull();
            cursors.add(cursor);
        }
        assertThat(cursors).hasSize(3);
        sim.clearFaults();
        assertThat(json(get(MercuryoSimulator.CARD_TRANSACTIONS, token)).at("/data/items")).hasSize(1);
    }

    @Test
    void expired_tokens_answer_401000_until_a_new_sign_in() throws Exception {
        sim.addUser("expire@sim.test");
        String old = token("expire@sim.test");
        sim.expireAllTokens();

        assertError(get(MercuryoSimulator.CARD_BALANCE, old), 401, 401000);
        assertError(send(refresh(old, PARTNER_TOKEN)), 401, 401000);
        assertThat(get(MercuryoSimulator.CARD_BALANCE, token("expire@sim.test")).statusCode()).isEqualTo(200);
    }

    @Test
    void a_hung_path_gets_no_answer_until_the_fault_is_cleared() throws Exception {
        sim.addUser("hang@sim.test");
        String token = token("hang@sim.test");
        sim.hang("/sdk-partner/spend/");
        HttpRequest balance = userRequest(MercuryoSimulator.CARD_BALANCE, token).timeout(Duration.ofMillis(300)).build();

        assertThatThrownBy(() -> HTTP.send(balance, HttpResponse.BodyHandlers.ofString())).isInstanceOf(HttpTimeoutException.class);
        assertThat(send(refresh(token, PARTNER_TOKEN)).statusCode()).isEqualTo(200); // other paths still answer
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
    void clear_faults_turns_every_fault_off() throws Exception {
        sim.addUser("clear@sim.test");
        String token = token("clear@sim.test");
        sim.failNext(5);
        sim.failWith(MercuryoSimulator.CARD_BALANCE, 500, 500001, "Various reasons", 5);
        sim.failWith(MercuryoSimulator.CARD_BALANCE, "clear@sim.test", 400, 400210, "Invalid card status", 5);
        sim.answerRaw(MercuryoSimulator.CARD_BALANCE, 502, "text/html", "<html></html>", 5);
        sim.blacklistIp(USER_IP);
        sim.loopPagination("clear@sim.test");
        sim.emptyPagesWithCursor("clear@sim.test");

        sim.clearFaults();

        assertThat(get(MercuryoSimulator.CARD_BALANCE, token).statusCode()).isEqualTo(200);
        assertThat(json(get(MercuryoSimulator.CARD_TRANSACTIONS, token)).at("/data/pagination/next_cursor").isNull()).isTrue();
        assertThat(json(send(HttpRequest.newBuilder(sim.rootUrl().resolve(MercuryoSimulator.FAULTS)).build())))
                .isEqualTo(Json.MAPPER.readTree("""
                        {"fail_next":0,"slow_ms":0,"hang":[],"fail_with":[],"answer_raw":[],"blacklisted_ips":[],\
                        "loop_pagination":[],"empty_pages_with_cursor":[]}"""));
    }

    @Test
    void faults_can_be_switched_over_http_for_dev_mode() throws Exception {
        sim.addUser("dev@sim.test");
        String token = token("dev@sim.test");
        sim.failWith(MercuryoSimulator.SIGN_IN, "dev@sim.test", 403, 403009, "User account is locked", 2);

        HttpResponse<String> set = send(post(MercuryoSimulator.FAULTS, "{\"fail_next\":1,\"hang\":\"/nowhere\"}").build());
        assertThat(set.statusCode()).isEqualTo(200);
        assertThat(json(set).get("fail_next").asInt()).isEqualTo(1);
        assertThat(json(set).at("/fail_with/0/code").asInt()).isEqualTo(403009);
        assertThat(json(set).at("/fail_with/0/remaining").asInt()).isEqualTo(2);
        assertError(get(MercuryoSimulator.CARD_STATUS, token), 500, 500001);
        assertThat(get(MercuryoSimulator.CARD_STATUS, token).statusCode()).isEqualTo(200);

        send(post(MercuryoSimulator.FAULTS, "{\"expire_all_tokens\":true}").build());
        assertError(get(MercuryoSimulator.CARD_STATUS, token), 401, 401000);
        HttpResponse<String> cleared = send(post(MercuryoSimulator.FAULTS, "{\"clear\":true}").build());
        assertThat(json(cleared).get("hang")).isEmpty();
        assertThat(json(cleared).get("fail_with")).isEmpty();
        assertError(send(post(MercuryoSimulator.FAULTS, "{\"no_such_fault\":1}").build()), 400, 400001);
        assertThat(sim.requests()).noneMatch(r -> r.path().startsWith("/_sim/"));
    }

    // ------------------------------------------------------------------ scenario

    @Test
    void a_scenario_is_deterministic_and_its_callbacks_carry_only_documented_fields() throws Exception {
        Scenario.Config config = new Scenario.Config(7, 5, 40, 4, 0.1, 0.05, 0.05, Duration.ZERO, 0.2);
        Truth truth = new Scenario(config).truth();

        assertThat(new Scenario(config).truth()).isEqualTo(truth);
        assertThat(new Scenario(new Scenario.Config(8, 5, 40, 4, 0.1, 0.05, 0.05, Duration.ZERO, 0.2)).truth()).isNotEqualTo(truth);
        assertThat(truth.finalStatusBySellRequest()).hasSize(40).allSatisfy((id, status) -> {
            assertThat(id).matches("0[0-9a-f]{16}");
            assertThat(status).isIn("succeeded", "failed");
        });
        assertThat(truth.usersByEmail().values()).extracting(CardUserRef::ip).doesNotHaveDuplicates()
                .allMatch(ip -> ip.matches("(203\\.0\\.113|198\\.51\\.100)\\.\\d{1,3}"));
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
        Set<String> eventIds = new HashSet<>();
        for (SimCallback c : truth.callbacks()) {
            JsonNode body = Json.MAPPER.readTree(c.body());
            switch (c.kind()) {
                case TRANSACTION -> {
                    assertThat(fields(body)).containsExactly("data");
                    JsonNode d = body.get("data");
                    assertThat(fields(d)).containsExactlyInAnyOrder("id", "type", "status", "amount", "currency", "fiat_amount",
                            "fiat_currency", "fee", "partner_fee", "rate", "payment_method", "merchant_transaction_id",
                            "created_at", "updated_at", "created_at_ts", "updated_at_ts", "user");
                    assertThat(fields(d.get("user"))).containsExactlyInAnyOrder("email", "uuid4");
                    assertThat(d.get("id").asText()).isEqualTo(c.sellRequestId());
                    assertThat(d.get("type").asText()).isEqualTo("sell");
                    assertThat(d.get("payment_method").asText()).isEqualTo("spend_card_topup");
                    assertThat(d.get("updated_at_ts").asLong()).isEqualTo(c.updatedAtTs());
                }
                case CARD_STATUS -> {
                    assertThat(fields(body)).containsExactlyInAnyOrder("event_id", "event_name", "card_id", "user", "status");
                    assertThat(body.get("status").asText()).isEqualTo("active");
                }
                case CRYPTO_TOP_UP -> {
                    assertThat(fields(body)).containsExactlyInAnyOrder("event_id", "event_name", "card_id", "user",
                            "sell_request", "card_balance");
                    assertThat(fields(body.get("sell_request"))).containsExactlyInAnyOrder("id", "merchant_transaction_id",
                            "status", "fiat_amount", "fee", "crypto_amount", "crypto_currency");
                    assertThat(fields(body.get("card_balance"))).containsExactlyInAnyOrder("fiat_amount", "fiat_currency");
                    // The card gets fiat_amount, stamped with the second the sell request succeeded.
                    assertThat(body.at("/sell_request/id").asText()).isEqualTo(c.sellRequestId());
                    assertThat(body.at("/sell_request/fiat_amount").asText()).isEqualTo(MercuryoSimulator.money(c.cardTransaction().amount()));
                    assertThat(body.at("/card_balance/fiat_amount").asText()).isEqualTo(MercuryoSimulator.money(c.cardBalance()));
                    assertThat(c.cardTransaction().type()).isEqualTo("TOP_UP");
                    assertThat(c.cardTransaction().timestamp().getEpochSecond()).isEqualTo(c.updatedAtTs());
                    assertThat(truth.callbacks()).anyMatch(t -> t.kind() == SimCallback.Kind.TRANSACTION
                            && t.sellRequestId().equals(c.sellRequestId()) && t.status().equals("succeeded")
                            && t.updatedAtTs() == c.updatedAtTs());
                }
                case CARD_TRANSACTION -> {
                    assertThat(fields(body)).containsExactlyInAnyOrder("event_id", "event_name", "card_id", "user", "transaction");
                    JsonNode tx = body.get("transaction");
                    assertThat(fields(tx)).containsExactlyInAnyOrder("type", "status", "decline_reason", "amount", "currency",
                            "local_amount", "local_currency", "fx_rate", "mcc", "merchant", "timestamp");
                    CardTransaction item = c.cardTransaction();
                    assertThat(tx.get("type").asText()).isEqualTo(item.type());
                    assertThat(tx.get("status").asText()).isEqualTo(item.status()).isEqualTo(c.status());
                    assertThat(tx.get("amount").asText()).isEqualTo(MercuryoSimulator.money(item.amount()));
                    assertThat(tx.get("currency").asText()).isEqualTo(item.currency());
                    assertThat(tx.get("timestamp").asText()).isEqualTo(item.timestamp().toString());
                    assertThat(tx.get("decline_reason").isNull()).isEqualTo(!item.status().equals("DECLINED"));
                }
            }
            if (c.kind().isSpendCardEvent()) {
                assertThat(body.get("event_name").asText()).isEqualTo(c.key().substring(0, c.key().indexOf(':')));
                assertThat(body.get("card_id").asText()).isEqualTo(c.cardId());
                assertThat(fields(body.get("user"))).containsExactly("uuid4");
                assertThat(eventIds.add(body.get("event_id").asText())).isTrue();
            }
        }
    }

    @Test
    void a_scenarios_purchases_are_authorized_then_cleared_or_reversed_or_declined_and_its_ledger_adds_up() {
        Scenario.Config config = new Scenario.Config(11, 6, 60, 8, 0, 0, 0, Duration.ZERO, 0.1, 0.2, 0.15);
        Truth truth = new Scenario(config).truth();

        // Every purchase's events, by its ledger item: one lifecycle each, all with the authorization time.
        Map<CardTransaction.Key, List<SimCallback>> lifecycles = new LinkedHashMap<>();
        truth.callbacks().stream().filter(c -> c.kind() == SimCallback.Kind.CARD_TRANSACTION)
                .forEach(c -> lifecycles.computeIfAbsent(c.cardTransaction().key(), k -> new ArrayList<>()).add(c));
        Map<String, Integer> endings = new HashMap<>();
        lifecycles.forEach((key, events) -> {
            List<String> statuses = events.stream().map(SimCallback::status).toList();
            assertThat(statuses).isIn(List.of("AUTHORIZED", "CLEARED"), List.of("AUTHORIZED", "REVERSED"), List.of("DECLINED"));
            assertThat(events).extracting(SimCallback::updatedAtTs).isSorted();
            assertThat(events.getFirst().updatedAtTs()).isEqualTo(key.timestamp().getEpochSecond());
            endings.merge(statuses.getLast(), 1, Integer::sum);
        });
        assertThat(endings.keySet()).containsExactlyInAnyOrder("CLEARED", "REVERSED", "DECLINED");
        // The final ledger: each purchase once, in its last status; the balance is what it adds up to.
        truth.ledgerByEmail().forEach((email, ledger) -> {
            BigDecimal balance = BigDecimal.ZERO;
            Set<Instant> timestamps = new HashSet<>();
            for (CardTransaction t : ledger) {
                assertThat(timestamps.add(t.timestamp())).isTrue();
                assertThat(t.status()).isIn("CLEARED", "REVERSED", "DECLINED");
                if (t.type().equals("PURCHASE")) {
                    assertThat(t.status()).isEqualTo(lifecycles.get(t.key()).getLast().status());
                }
                balance = balance.add(t.balanceEffect());
            }
            assertThat(balance).isEqualByComparingTo(truth.finalBalanceByEmail().get(email));
        });
        assertThat(truth.ledgerByEmail().values().stream().mapToLong(l -> l.stream().filter(t -> t.type().equals("PURCHASE")).count()).sum())
                .isEqualTo(lifecycles.size());
    }

    @Test
    void a_scenario_applied_to_the_simulator_shows_its_final_ledger_and_balances_over_the_api() throws Exception {
        Scenario scenario = new Scenario(new Scenario.Config(5, 3, 30, 6, 0.1, 0, 0, Duration.ZERO, 0.1));
        Truth truth = scenario.truth();

        scenario.applyTo(sim);

        for (CardUserRef user : truth.usersByEmail().values()) {
            assertThat(sim.user(user.email())).contains(user);
            String token = token(user.email());
            List<CardTransaction> ledger = truth.ledgerByEmail().get(user.email());
            JsonNode items = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=100", token)).at("/data/items");
            assertThat(items).hasSize(ledger.size());
            for (int k = 0; k < ledger.size(); k++) {
                CardTransaction expected = ledger.get(ledger.size() - 1 - k);
                assertThat(items.get(k).get("status").asText()).isEqualTo(expected.status());
                assertThat(items.get(k).get("timestamp").asText()).isEqualTo(expected.timestamp().toString());
                assertThat(items.get(k).get("amount").asText()).isEqualTo(MercuryoSimulator.money(expected.amount()));
            }
            assertThat(balanceOverApi(token)).isEqualTo(MercuryoSimulator.money(truth.finalBalanceByEmail().get(user.email())));
        }
    }

    @Test
    void everything_delivered_means_nothing_unseen_and_no_drift() {
        Truth truth = new Scenario(new Scenario.Config(3, 8, 120, 10, 0, 0.1, 0.1, Duration.ZERO, 0.1, 0.3, 0.2)).truth();

        assertThat(truth.dropped()).isEmpty();
        assertThat(truth.unseenLedgerItems()).isEmpty();
        assertThat(truth.expectedDriftUsers()).isEmpty();
        assertThat(truth.expectedBalanceByEmail()).isEqualTo(truth.finalBalanceByEmail());
        assertThat(truth.sellRequestsWhoseLastDeliveredStatusIsNotFinal()).isEmpty();
    }

    @Test
    void with_drops_the_unseen_items_are_exactly_those_all_of_whose_events_were_dropped() {
        Truth truth = new Scenario(new Scenario.Config(42, 20, 200, 5, 0.15, 0.05, 0.05, Duration.ZERO, 0.15)).truth();

        Map<CardTransaction.Key, Boolean> anyDelivered = new HashMap<>();
        for (CallbackSender.Delivery d : truth.deliveries()) {
            if (d.callback().cardTransaction() != null) {
                anyDelivered.merge(d.callback().cardTransaction().key(), !d.dropped(), Boolean::logicalOr);
            }
        }
        Set<CardTransaction.Key> expectedUnseen = new HashSet<>();
        anyDelivered.forEach((key, delivered) -> {
            if (!delivered) {
                expectedUnseen.add(key);
            }
        });
        Set<CardTransaction.Key> unseen = new HashSet<>();
        truth.unseenLedgerItems().values().forEach(items -> items.forEach(t -> unseen.add(t.key())));

        assertThat(expectedUnseen).isNotEmpty();
        assertThat(unseen).isEqualTo(expectedUnseen);
        assertThat(truth.expectedDriftUsers()).isNotEmpty().isSubsetOf(truth.usersByEmail().keySet());
    }

    @Test
    void drift_counts_from_the_latest_delivered_top_up_and_each_purchase_by_its_furthest_delivered_status() {
        CardUserRef user = new CardUserRef("uuid-1", "drift@sim.test", "card-1", "203.0.113.1");
        CardTransaction early = item("PURCHASE", "CLEARED", "5.00", 5);
        CardTransaction topUp1 = item("TOP_UP", "CLEARED", "100.00", 10);
        CardTransaction topUp2 = item("TOP_UP", "CLEARED", "50.00", 20);
        CardTransaction cleared = item("PURCHASE", "CLEARED", "30.00", 30);
        CardTransaction reversed = item("PURCHASE", "REVERSED", "40.00", 40);
        CardTransaction declined = item("PURCHASE", "DECLINED", "60.00", 50);
        CardTransaction lost = item("PURCHASE", "CLEARED", "7.00", 60);
        List<CardTransaction> ledger = List.of(early, topUp1, topUp2, cleared, reversed, declined, lost);
        BigDecimal actual = new BigDecimal("108.00"); // what Mercuryo's balance says
        List<CallbackSender.Delivery> deliveries = List.of(
                delivery(event("e-early", early.withStatus("AUTHORIZED"), null), 1), // before the checkpoint: in its card_balance
                delivery(event("e-top1", topUp1, "95.00"), 1),
                delivery(event("e-top2", topUp2, "145.00"), 0), // the latest top-up is lost: top1 is the checkpoint
                delivery(event("e-c1", cleared.withStatus("AUTHORIZED"), null), 0),
                delivery(event("e-c2", cleared, null), 1),        // only CLEARED arrives: -30
                delivery(event("e-r1", reversed.withStatus("AUTHORIZED"), null), 1),
                delivery(event("e-r2", reversed, null), 1),       // reversed: 0
                delivery(event("e-d", declined, null), 2),        // declined: 0
                delivery(event("e-l1", lost.withStatus("AUTHORIZED"), null), 0),
                delivery(event("e-l2", lost, null), 0));
        Truth truth = new Truth(Map.of(), Map.of(user.email(), user), Map.of(user.email(), actual), Map.of(user.email(), ledger),
                deliveries.stream().map(CallbackSender.Delivery::callback).toList(), deliveries);

        // Checkpoint 95.00 (top-up 1); after it, delivered: -30 (cleared), 0 (reversed), 0 (declined).
        assertThat(truth.expectedBalanceByEmail().get(user.email())).isEqualByComparingTo("65.00");
        assertThat(truth.expectedDriftUsers()).containsExactly(user.email());
        assertThat(truth.unseenLedgerItems().get(user.email())).containsExactly(topUp2, lost);

        // Nothing delivered at all: no checkpoint, expected 0.
        List<CallbackSender.Delivery> none = deliveries.stream().map(d -> delivery(d.callback(), 0)).toList();
        Truth silent = new Truth(Map.of(), Map.of(user.email(), user), Map.of(user.email(), actual), Map.of(user.email(), ledger),
                truth.callbacks(), none);
        assertThat(silent.expectedBalanceByEmail().get(user.email())).isEqualByComparingTo("0");
        assertThat(silent.unseenLedgerItems().get(user.email())).isEqualTo(ledger);
    }

    @Test
    void a_scenario_can_end_at_a_given_second_with_the_same_content_shifted_in_time() {
        Scenario.Config config = new Scenario.Config(9, 4, 30, 3, 0.1, 0.05, 0.05, Duration.ZERO, 0.2);
        long now = Instant.now().getEpochSecond();
        Scenario old = new Scenario(config);
        Scenario recent = Scenario.endingAt(config, now);

        assertThat(recent.lastSecond()).isEqualTo(now);
        assertThat(recent.lastSecond() - recent.epoch()).isEqualTo(old.lastSecond() - old.epoch());
        assertThat(recent.truth().callbacks()).allMatch(c -> c.updatedAtTs() <= now && c.updatedAtTs() > recent.epoch());
        long shift = recent.epoch() - old.epoch();
        assertThat(recent.truth().callbacks()).extracting(SimCallback::updatedAtTs)
                .containsExactlyElementsOf(old.truth().callbacks().stream().map(c -> c.updatedAtTs() + shift).toList());
        assertThat(recent.truth().finalStatusBySellRequest()).isEqualTo(old.truth().finalStatusBySellRequest());
        assertThat(recent.truth().finalBalanceByEmail()).isEqualTo(old.truth().finalBalanceByEmail());
    }

    @Test
    void a_scenario_through_the_real_service_stores_the_status_mercuryo_last_delivered() throws Exception {
        Scenario.Config config = new Scenario.Config(42, 20, 200, 5, 0.10, 0.05, 0.05, Duration.ZERO, 0.2);
        assertThat(new Scenario(config).truth()).isEqualTo(new Scenario(config).truth());

        try (TestApp app = TestApp.start();
             CallbackSender sender = new CallbackSender(URI.create("http://127.0.0.1:" + app.app().httpPort()), TestApp.SIGN_KEY)) {
            Scenario.Run run = Scenario.endingAt(config, Instant.now().getEpochSecond()).run(sim, sender);
            Truth truth = run.truth();
            CallbackSender.Result result = run.result();

            assertThat(result.non200Answers()).isZero();
            assertThat(result.transportErrors()).isZero();
            assertThat(result.undelivered()).isEmpty();
            assertThat(result.dropped()).isEqualTo(truth.dropped().size()).isPositive();
            assertThat(result.duplicated()).isEqualTo(truth.duplicated().size()).isPositive();
            assertThat(result.reordered()).isEqualTo(truth.reordered().size()).isPositive();
            assertThat(result.sent()).isEqualTo(result.planned() - result.dropped());
            // The drops must have hit some final statuses and card money, or this run would not exercise a reconciler.
            assertThat(truth.sellRequestsWhoseLastDeliveredStatusIsNotFinal()).isNotEmpty();
            assertThat(truth.unseenLedgerItems()).isNotEmpty();
            assertThat(truth.expectedDriftUsers()).isNotEmpty();

            Map<String, String> stored = app.dsl().select(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS)
                    .from(TRANSACTION_STATE).fetchMap(TRANSACTION_STATE.TRANSACTION_ID, TRANSACTION_STATE.STATUS);
            truth.sellRequestsWithFinalDelivered().forEach((id, status) -> {
                assertThat(stored.get(id)).as("stored status of %s", id).isEqualTo(status);
                assertThat(sim.sellRequest(id).orElseThrow().status()).isEqualTo(status);
            });
            // Late and duplicated older statuses never moved a transaction backwards.
            assertThat(stored).isEqualTo(truth.lastDeliveredStatusBySellRequest());
            truth.sellRequestsNeverDelivered().forEach(id -> assertThat(stored).doesNotContainKey(id));
            // Every lifecycle event is an event of its own.
            assertThat(app.dsl().fetchCount(SPEND_CARD_EVENT)).isEqualTo(truth.deliveredCardEvents().size());

            // The simulator's API ends at the truth, whatever was delivered.
            truth.finalStatusBySellRequest().forEach((id, status) ->
                    assertThat(sim.sellRequest(id).orElseThrow().status()).isEqualTo(status));
            String email = "user-1@sim.test";
            String token = token(email);
            assertThat(balanceOverApi(token)).isEqualTo(MercuryoSimulator.money(truth.finalBalanceByEmail().get(email)));
            JsonNode page = json(get(MercuryoSimulator.CARD_TRANSACTIONS + "?limit=100", token));
            List<CardTransaction> ledger = truth.ledgerByEmail().get(email);
            assertThat(page.at("/data/items")).hasSize(Math.min(100, ledger.size()));
            assertThat(page.at("/data/items/0/timestamp").asText()).isEqualTo(ledger.getLast().timestamp().toString());
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Instant at(int second) {
        return Instant.ofEpochSecond(Scenario.EPOCH + second);
    }

    private static CardTransaction item(String type, String status, String amount, int second) {
        return new CardTransaction(type, status, new BigDecimal(amount), "EUR", "Counterparty", at(second));
    }

    private static SimCallback event(String id, CardTransaction item, String cardBalance) {
        boolean topUp = item.type().equals("TOP_UP");
        return new SimCallback((topUp ? "crypto_top_up:" : "card_transaction:") + id,
                topUp ? SimCallback.Kind.CRYPTO_TOP_UP : SimCallback.Kind.CARD_TRANSACTION, topUp ? "sr-" + id : null,
                "card-1", item.status(), topUp, item.timestamp().getEpochSecond(), item,
                cardBalance == null ? null : new BigDecimal(cardBalance), "{}");
    }

    private static CallbackSender.Delivery delivery(SimCallback callback, int copies) {
        return new CallbackSender.Delivery(callback, copies, false, Duration.ZERO);
    }

    private HttpResponse<String> call(String endpoint, Map<String, String> paths, String token) {
        return switch (endpoint) {
            case MercuryoSimulator.SIGN_IN -> signIn("codes@sim.test");
            case MercuryoSimulator.REFRESH_TOKEN -> send(refresh(token, PARTNER_TOKEN));
            default -> get(paths.getOrDefault(endpoint, endpoint), token);
        };
    }

    private String balanceOverApi(String token) throws IOException {
        return json(get(MercuryoSimulator.CARD_BALANCE, token)).at("/data/fiat_amount").asText();
    }

    private HttpResponse<String> signIn(String email) {
        return send(post(MercuryoSimulator.SIGN_IN, "{\"accept\":true,\"email\":\"" + email + "\"}")
                .header(MercuryoSimulator.PARTNER_TOKEN_HEADER, PARTNER_TOKEN).build());
    }

    private String token(String email) throws IOException {
        HttpResponse<String> response = signIn(email);
        assertThat(response.statusCode()).isEqualTo(200);
        return json(response).at("/data/bearer_token").asText();
    }

    private HttpRequest refresh(String userToken, String partnerToken) {
        HttpRequest.Builder request = userRequest(MercuryoSimulator.REFRESH_TOKEN, userToken);
        if (partnerToken != null) {
            request.header(MercuryoSimulator.PARTNER_TOKEN_HEADER, partnerToken);
        }
        return request.build();
    }

    private HttpResponse<String> get(String path, String token) {
        return send(userRequest(path, token).build());
    }

    private HttpRequest.Builder userRequest(String path, String token) {
        return HttpRequest.newBuilder(sim.url(path))
                .timeout(Duration.ofSeconds(10))
                .header(MercuryoSimulator.USER_TOKEN_HEADER, token)
                .header(MercuryoSimulator.USER_IP_HEADER, USER_IP);
    }

    private HttpRequest.Builder post(String path, String body) {
        URI uri = path.startsWith("/_sim/") ? sim.rootUrl().resolve(path) : sim.url(path);
        return HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static HttpResponse<String> send(HttpRequest request) {
        return TestApp.send(request);
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return Json.MAPPER.readTree(response.body());
    }

    private static List<String> fields(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static void assertError(HttpResponse<String> response, int status, int code) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode body = json(response);
        assertThat(fields(body)).containsExactlyInAnyOrder("status", "code", "message");
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.get("code").asInt()).isEqualTo(code);
        assertThat(body.get("message").asText()).isNotBlank();
    }
}
