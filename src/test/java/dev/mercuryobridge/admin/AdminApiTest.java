package dev.mercuryobridge.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static dev.mercuryobridge.testing.Callbacks.REFERENCE_SAMPLE;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

class AdminApiTest {
    @RegisterExtension
    static final TestApp app = TestApp.perClass();

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return Json.MAPPER.readTree(r.body());
    }

    @Test
    void every_api_route_of_every_feature_needs_the_admin_token() {
        java.util.List<String> api = app.app().adminRoutes().stream().filter(r -> r.contains(" /api/")).toList();
        assertThat(api).anyMatch(r -> r.contains("/api/reports/")).anyMatch(r -> r.contains("/api/reconciliation/"))
                .anyMatch(r -> r.contains("/api/quarantine"));
        for (String route : api) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1).replaceAll("\\{[^}]+}", "1");
            var answer = app.admin(method, path, null);
            assertThat(answer.statusCode()).as(route).isEqualTo(401);
            assertThat(answer.headers().firstValue("WWW-Authenticate")).as(route).hasValue("Bearer");
        }
    }

    @Test
    void transaction_api_needs_the_admin_token() throws Exception {
        app.postCallback(TRANSACTION_PATH, REFERENCE_SAMPLE);

        var none = app.admin("GET", "/api/transactions/0ab3f70c72c0f5056", null);
        var wrong = app.admin("GET", "/api/transactions/0ab3f70c72c0f5056", "not-the-token");

        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(json(none).get("error").asText()).isEqualTo("unauthorized");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).doesNotContain("0ab3f70c72c0f5056");
    }

    @Test
    void transaction_shows_state_history_and_raw_callbacks() throws Exception {
        app.postCallback(TRANSACTION_PATH, transaction("admin1", "buy", "new", 100));
        app.postCallback(TRANSACTION_PATH, transaction("admin1", "buy", "paid", 200));
        app.postCallback(TRANSACTION_PATH, transaction("admin1", "buy", "paid", 200));

        var response = app.admin("GET", "/api/transactions/admin1");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json(response);
        assertThat(body.at("/state/status").asText()).isEqualTo("paid");
        assertThat(body.at("/state/final").asBoolean()).isTrue();
        assertThat(body.at("/state/amount").asText()).isEqualTo("0.00148310");
        assertThat(body.at("/state/last_sequence").asInt()).isEqualTo(2);
        assertThat(body.at("/transitions/0/status").asText()).isEqualTo("new");
        assertThat(body.at("/transitions/1/previous_status").asText()).isEqualTo("new");
        assertThat(body.at("/transitions/1/sequence").asInt()).isEqualTo(2);
        assertThat(body.at("/transitions/1/detected_by").asText()).isEqualTo("callback");
        assertThat(body.at("/transitions/1/status_changed_at").asText()).isEqualTo("1970-01-01T00:03:20Z");
        assertThat(body.get("callbacks")).hasSize(3);
        assertThat(body.at("/callbacks/2/outcome").asText()).isEqualTo("duplicate");
        assertThat(body.at("/callbacks/0/body/data/status").asText()).isEqualTo("new");
    }

    @Test
    void unknown_transaction_is_404() throws Exception {
        var response = app.admin("GET", "/api/transactions/never-seen");
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(json(response).get("error").asText()).isEqualTo("not_found");
    }

    @Test
    void health_endpoints_report_the_database_and_migrations() throws Exception {
        assertThat(app.admin("GET", "/health/live", null).statusCode()).isEqualTo(200);
        var ready = app.admin("GET", "/health/ready", null);
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(json(ready).at("/checks/database/status").asText()).isEqualTo("up");
        assertThat(json(ready).at("/checks/migrations/status").asText()).isEqualTo("up");
    }

    @Test
    void quarantined_callbacks_are_listed_and_a_still_invalid_one_is_not_replayed() throws Exception {
        app.postCallback(TRANSACTION_PATH, "{\"data\":{\"status\":\"paid\"}}");

        var list = app.admin("GET", "/api/quarantine");
        assertThat(list.statusCode()).isEqualTo(200);
        JsonNode items = json(list).get("items");
        JsonNode entry = items.get(items.size() - 1);
        assertThat(entry.get("reason").asText()).contains("\"id\" is missing");
        assertThat(entry.get("body").asText()).isEqualTo("{\"data\":{\"status\":\"paid\"}}");

        var replay = app.admin("POST", "/api/quarantine/" + entry.get("id").asLong() + "/replay");
        assertThat(replay.statusCode()).isEqualTo(422);
        assertThat(json(replay).get("error").asText()).isEqualTo("still_invalid");
    }

    @Test
    void replay_runs_a_now_valid_body_through_the_write_path_once() throws Exception {
        // A body an earlier parser version rejected: stored as it would have been.
        byte[] body = transaction("replayed1", "sell", "succeeded", 900).getBytes(StandardCharsets.UTF_8);
        long callbackId = app.dsl().insertInto(CALLBACK)
                .set(CALLBACK.ROUTE, "transaction").set(CALLBACK.BODY, body).set(CALLBACK.BODY_SHA256, new byte[32])
                .set(CALLBACK.SIGNATURE_KEY, "test").set(CALLBACK.SIGNATURE_VARIANT, "raw").set(CALLBACK.OUTCOME, "quarantined")
                .returning(CALLBACK.ID).fetchSingle(CALLBACK.ID);
        long id = app.dsl().insertInto(QUARANTINE).set(QUARANTINE.CALLBACK_ID, callbackId).set(QUARANTINE.ROUTE, "transaction")
                .set(QUARANTINE.BODY, body).set(QUARANTINE.REASON, "old parser said no")
                .returning(QUARANTINE.ID).fetchSingle(QUARANTINE.ID);

        var replay = app.admin("POST", "/api/quarantine/" + id + "/replay");
        assertThat(replay.statusCode()).isEqualTo(200);
        assertThat(json(replay).get("outcome").asText()).isEqualTo("accepted");
        assertThat(app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq("replayed1")).getStatus())
                .isEqualTo("succeeded");

        var again = app.admin("POST", "/api/quarantine/" + id + "/replay");
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(json(again).get("error").asText()).isEqualTo("already_replayed");
        assertThat(json(app.admin("GET", "/api/quarantine")).get("items").findValues("id"))
                .noneMatch(n -> n.asLong() == id);
    }

    @Test
    void replay_of_unknown_or_malformed_id_is_a_clear_error() throws Exception {
        assertThat(app.admin("POST", "/api/quarantine/999999/replay").statusCode()).isEqualTo(404);
        var bad = app.admin("POST", "/api/quarantine/abc/replay");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json(bad).get("error").asText()).isEqualTo("invalid_id");
        assertThat(app.admin("GET", "/api/quarantine?limit=0").statusCode()).isEqualTo(400);
    }

    @Test
    void hostile_admin_input_gets_clear_answers() throws Exception {
        var sqlish = app.admin("GET", "/api/transactions/x'%20or%20'1'='1");
        assertThat(sqlish.statusCode()).isEqualTo(404);
        assertThat(json(sqlish).get("error").asText()).isEqualTo("not_found");

        var huge = app.adminOnOwnConnection("PUT", "/api/card-users/u1", "{\"email\":\"" + "a".repeat(2_000_000) + "@b.co\"}");
        assertThat(huge.statusCode()).isEqualTo(413);
        assertThat(json(huge).get("error").asText()).isEqualTo("payload_too_large");

        var badId = app.adminJson("PUT", "/api/sell-requests/bad%20id", "{\"user_uuid\":\"u1\"}");
        assertThat(badId.statusCode()).isEqualTo(400);
        assertThat(json(badId).get("error").asText()).isEqualTo("invalid_id");

        // Refused by the HTTP layer itself (a NUL in the path), still with the JSON error shape.
        var nul = app.adminOnOwnConnection("PUT", "/api/sell-requests/%00bad", "{\"user_uuid\":\"u1\"}");
        assertThat(nul.statusCode()).isEqualTo(400);
        assertThat(json(nul).get("error").asText()).isEqualTo("bad_request");

        var notObject = app.adminJson("PUT", "/api/card-users/u1", "[1,2]");
        assertThat(notObject.statusCode()).isEqualTo(400);
        assertThat(json(notObject).get("error").asText()).isEqualTo("invalid_body");

        var unknown = app.admin("DELETE", "/api/transactions/x");
        assertThat(unknown.statusCode()).isIn(404, 405);
        assertThat(json(unknown).has("error")).isTrue();
    }
}
