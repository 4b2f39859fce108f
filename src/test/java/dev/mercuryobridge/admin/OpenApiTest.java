package dev.mercuryobridge.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.oas.OpenApi31;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.testing.TestApp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.db.generated.Tables.QUARANTINE;
import static dev.mercuryobridge.testing.Callbacks.SPEND_CARD_PATH;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static dev.mercuryobridge.testing.Callbacks.cardStatusEvent;
import static dev.mercuryobridge.testing.Callbacks.transaction;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAPI document served at {@code GET /openapi.json} against the running app: it is valid,
 * it names exactly the routes both servers register, and real answers of every route (successes
 * and errors) conform to what it says for that path, method and status.
 */
class OpenApiTest {
    /** The document's schemas are resolved under this made-up address, loaded from the served text. */
    private static final String DOCUMENT_IRI = "https://mercuryo-bridge.invalid/openapi.json";
    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace");

    @RegisterExtension
    static final SimulatedApp f = SimulatedApp.perClass(Map.of("MAX_BODY_BYTES", "4096"));
    private static String documentText;
    private static JsonNode document;
    private static JsonSchemaFactory schemas;
    private static final Map<String, JsonSchema> compiled = new ConcurrentHashMap<>();

    @BeforeAll
    static void readDocument() throws Exception {
        var served = f.app().admin("GET", "/openapi.json", null);
        assertThat(served.statusCode()).isEqualTo(200);
        documentText = served.body();
        document = Json.MAPPER.readTree(documentText);
        schemas = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012, b -> b
                .metaSchema(OpenApi31.getInstance())
                .defaultMetaSchemaIri(OpenApi31.getInstance().getIri())
                .schemaLoaders(loaders -> loaders.schemas(Map.of(DOCUMENT_IRI, documentText))));
    }

    // ---------------------------------------------------------------- the document itself

    @Test
    void the_document_is_served_without_a_token_as_json() {
        var response = f.app().admin("GET", "/openapi.json", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        assertConforms("GET", "/openapi.json", response);
    }

    @Test
    void the_document_is_openapi_3_1_with_two_servers_and_the_bearer_scheme() {
        assertThat(document.path("openapi").asText()).isEqualTo("3.1.0");
        assertThat(document.path("info").path("title").isTextual()).isTrue();
        assertThat(document.path("info").path("version").isTextual()).isTrue();
        assertThat(document.path("servers")).hasSize(2);
        document.path("servers").forEach(s -> assertThat(s.path("description").asText()).isNotBlank());
        JsonNode scheme = document.at("/components/securitySchemes/adminToken");
        assertThat(scheme.path("type").asText()).isEqualTo("http");
        assertThat(scheme.path("scheme").asText()).isEqualTo("bearer");
        assertThat(document.at("/security/0").has("adminToken")).isTrue();
    }

    @Test
    void api_routes_need_the_bearer_token_and_only_they_do() {
        for (Operation op : operations()) {
            boolean open = op.node().has("security") && op.node().get("security").isEmpty();
            assertThat(open).as(op + " is open").isEqualTo(!op.path().startsWith("/api/"));
            if (op.path().startsWith("/api/")) {
                assertThat(op.node().at("/responses/401").isMissingNode()).as(op + " answers 401").isFalse();
            }
        }
    }

    @Test
    void every_reference_resolves_and_every_schema_compiles() {
        List<String> refs = new ArrayList<>();
        collectRefs(document, refs);
        assertThat(refs).isNotEmpty();
        for (String ref : refs) {
            assertThat(ref).as("only local references").startsWith("#/");
            assertThat(document.at(ref.substring(1)).isMissingNode()).as(ref + " resolves").isFalse();
        }
        List<String> pointers = new ArrayList<>();
        document.at("/components/schemas").fieldNames().forEachRemaining(n -> pointers.add("/components/schemas/" + n));
        collectSchemaPointers(document.get("paths"), "/paths", pointers);
        collectSchemaPointers(document.at("/components/responses"), "/components/responses", pointers);
        collectSchemaPointers(document.at("/components/parameters"), "/components/parameters", pointers);
        assertThat(pointers).hasSizeGreaterThan(40);
        for (String pointer : pointers) {
            schema(pointer).initializeValidators();   // throws on a reference or keyword it cannot compile
        }
    }

    @Test
    void every_operation_documents_its_answers_and_the_errors_use_the_shared_shape() {
        for (Operation op : operations()) {
            assertThat(op.node().path("summary").asText()).as(op + " summary").isNotBlank();
            JsonNode responses = op.node().path("responses");
            assertThat(responses.isEmpty()).as(op + " responses").isFalse();
            responses.fieldNames().forEachRemaining(status -> {
                JsonNode response = resolve(responses.get(status));
                assertThat(response.path("description").asText()).as(op + " " + status).isNotBlank();
                if (status.startsWith("4") || status.startsWith("5")) {
                    JsonNode schema = response.at("/content/application~1json/schema");
                    if (!op.path().startsWith("/health/")) {
                        assertThat(schema.toString()).as(op + " " + status + " uses the error shape")
                                .contains("#/components/schemas/Error");
                    }
                }
            });
        }
    }

    @Test
    void the_document_holds_no_secret_and_no_host_of_any_environment() {
        assertThat(documentText).doesNotContain(TestApp.ADMIN_TOKEN, TestApp.SIGN_KEY, TestApp.OLD_SIGN_KEY, SimulatedApp.PARTNER_TOKEN,
                "dev-admin-token", "dev-sign-key", "jdbc:", "password");
        var hosts = java.util.regex.Pattern.compile("https?://([^/:\"]+)").matcher(documentText);
        while (hosts.find()) {
            String host = hosts.group(1);
            // localhost in the servers; the OpenAPI dialect's identifier is a name, never fetched.
            assertThat(host).as("host named in the document").isIn("localhost", "spec.openapis.org");
        }
    }

    // ---------------------------------------------------------------- routes

    @Test
    void every_registered_route_is_in_the_document_and_every_documented_route_is_registered() {
        Set<String> registered = new TreeSet<>();
        registered.addAll(f.app().app().publicRoutes());
        registered.addAll(f.app().app().adminRoutes());
        Set<String> documented = new TreeSet<>();
        operations().forEach(op -> documented.add(op.method() + " " + op.path()));

        assertThat(registered).as("the servers register routes").contains("POST /callbacks/mercuryo", "GET /openapi.json");
        assertThat(documented).as("documented routes").isEqualTo(registered);
    }

    @Test
    void public_routes_are_documented_on_the_public_server_and_admin_routes_on_the_admin_server() {
        Set<String> publicRoutes = Set.copyOf(f.app().app().publicRoutes());
        for (Operation op : operations()) {
            String url = op.node().at("/servers/0/url").asText();
            assertThat(url).as(op + " server").isEqualTo(publicRoutes.contains(op.method() + " " + op.path())
                    ? "http://localhost:8080" : "http://localhost:8081");
        }
    }

    @Test
    void a_method_or_path_the_document_does_not_list_is_answered_404_in_the_error_shape() throws Exception {
        var method = f.app().admin("DELETE", "/api/findings");
        var path = f.app().admin("GET", "/api/nothing-here");

        for (var response : List.of(method, path)) {
            assertThat(response.statusCode()).isEqualTo(404);
            assertThat(violations("/components/schemas/Error", Json.MAPPER.readTree(response.body()))).isEmpty();
        }
        assertThat(document.at("/info/description").asText()).contains("404 not_found");
    }

    // ---------------------------------------------------------------- the validator catches drift

    @Test
    void an_answer_that_breaks_the_document_is_caught() throws Exception {
        ObjectNode error = (ObjectNode) Json.MAPPER.readTree("{\"error\":\"not_found\",\"message\":\"no transaction x\"}");
        String pointer = "/paths/~1api~1transactions~1{id}/get/responses/404";
        assertThat(violations(pointer, error)).isEmpty();

        error.remove("message");
        assertThat(violations(pointer, error)).isNotEmpty();
        error.put("message", "m").put("extra", 1);
        assertThat(violations(pointer, error)).isNotEmpty();
        ObjectNode wrongCode = (ObjectNode) Json.MAPPER.readTree("{\"error\":\"invalid_limit\",\"message\":\"m\"}");
        assertThat(violations("/paths/~1api~1quarantine~1{id}~1replay/post/responses/409", wrongCode)).isNotEmpty();
    }

    // ---------------------------------------------------------------- real answers, route by route

    @Test
    void callback_answers_conform() {
        String body = transaction("oa-tx-1", "buy", "paid", 200);
        var accepted = f.app().postCallback(TRANSACTION_PATH, body);
        assertAnswers(200, "POST", TRANSACTION_PATH, accepted);
        var duplicate = f.app().postCallback(TRANSACTION_PATH, body);
        assertThat(duplicate.headers().firstValue("X-Callback-Outcome")).hasValue("duplicate");
        assertConforms("POST", TRANSACTION_PATH, duplicate);
        var quarantined = f.app().postCallback(TRANSACTION_PATH, "{\"data\":{\"status\":\"paid\"}}");
        assertThat(quarantined.headers().firstValue("X-Callback-Outcome")).hasValue("quarantined");
        assertConforms("POST", TRANSACTION_PATH, quarantined);

        var unsigned = f.app().postCallback(TRANSACTION_PATH, body.getBytes(StandardCharsets.UTF_8), null);
        assertAnswers(401, "POST", TRANSACTION_PATH, unsigned);

        byte[] large = ("{\"data\":{\"id\":\"" + "x".repeat(5_000) + "\"}}").getBytes(StandardCharsets.UTF_8);
        var tooLarge = TestApp.sendOnOwnConnection(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + f.app().app().httpPort() + TRANSACTION_PATH))
                .timeout(Duration.ofSeconds(30))
                .header("X-Signature", SignatureVerifier.sign(TestApp.SIGN_KEY, large))
                .POST(HttpRequest.BodyPublishers.ofByteArray(large)).build());
        assertAnswers(413, "POST", TRANSACTION_PATH, tooLarge);

        var card = f.app().postCallback(SPEND_CARD_PATH, cardStatusEvent("2b0b6f4e-4a52-4c1f-9c55-0d1a8e0f7a11", "oa-card-1", "active"));
        assertAnswers(200, "POST", SPEND_CARD_PATH, card);
        var cardUnsigned = f.app().postCallback(SPEND_CARD_PATH, "{}".getBytes(StandardCharsets.UTF_8), "00");
        assertAnswers(401, "POST", SPEND_CARD_PATH, cardUnsigned);
    }

    @Test
    void health_metrics_and_document_answers_conform() {
        var live = f.app().admin("GET", "/health/live", null);
        assertAnswers(200, "GET", "/health/live", live);
        var ready = f.app().admin("GET", "/health/ready", null);
        assertAnswers(200, "GET", "/health/ready", ready);
        var metrics = f.app().admin("GET", "/metrics", null);
        assertAnswers(200, "GET", "/metrics", metrics);
    }

    @Test
    void transaction_answers_conform() {
        f.app().postCallback(TRANSACTION_PATH, transaction("oa-tx-2", "buy", "new", 100));
        f.app().postCallback(TRANSACTION_PATH, transaction("oa-tx-2", "buy", "paid", 200));

        var found = f.app().admin("GET", "/api/transactions/oa-tx-2");
        assertAnswers(200, "GET", "/api/transactions/{id}", found);
        var missing = f.app().admin("GET", "/api/transactions/never-seen");
        assertAnswers(404, "GET", "/api/transactions/{id}", missing);
        var noToken = f.app().admin("GET", "/api/transactions/oa-tx-2", null);
        assertAnswers(401, "GET", "/api/transactions/{id}", noToken);
    }

    @Test
    void quarantine_answers_conform() {
        f.app().postCallback(TRANSACTION_PATH, "{\"data\":{\"status\":\"failed\"}}");
        var list = f.app().admin("GET", "/api/quarantine?include_replayed=true");
        assertAnswers(200, "GET", "/api/quarantine", list);
        var badLimit = f.app().admin("GET", "/api/quarantine?limit=0");
        assertAnswers(400, "GET", "/api/quarantine", badLimit);
        var noToken = f.app().admin("GET", "/api/quarantine", "wrong-token");
        assertAnswers(401, "GET", "/api/quarantine", noToken);

        long stillInvalid = f.app().dsl().select(QUARANTINE.ID).from(QUARANTINE).orderBy(QUARANTINE.ID.desc()).limit(1)
                .fetchSingle(QUARANTINE.ID);
        String replay = "/api/quarantine/{id}/replay";
        var invalid = f.app().admin("POST", "/api/quarantine/" + stillInvalid + "/replay");
        assertAnswers(422, "POST", replay, invalid);

        long valid = quarantinedValidBody("oa-replayed-1");
        var replayed = f.app().admin("POST", "/api/quarantine/" + valid + "/replay");
        assertAnswers(200, "POST", replay, replayed);
        var again = f.app().admin("POST", "/api/quarantine/" + valid + "/replay");
        assertAnswers(409, "POST", replay, again);
        var unknown = f.app().admin("POST", "/api/quarantine/999999/replay");
        assertAnswers(404, "POST", replay, unknown);
        var malformed = f.app().admin("POST", "/api/quarantine/abc/replay");
        assertAnswers(400, "POST", replay, malformed);
    }

    @Test
    void card_user_and_sell_request_answers_conform() {
        String cardUser = "/api/card-users/{user_uuid}";
        var put = f.app().adminJson("PUT", "/api/card-users/oa-user-1", "{\"email\":\"oa@example.org\",\"ip\":\"203.0.113.9\"}");
        assertAnswers(200, "PUT", cardUser, put);
        var get = f.app().admin("GET", "/api/card-users/oa-user-1");
        assertAnswers(200, "GET", cardUser, get);
        var unknown = f.app().admin("GET", "/api/card-users/nobody");
        assertAnswers(404, "GET", cardUser, unknown);
        var badId = f.app().admin("GET", "/api/card-users/bad%20id");
        assertAnswers(400, "GET", cardUser, badId);
        var badEmail = f.app().adminJson("PUT", "/api/card-users/oa-user-1", "{\"email\":\"not-an-address\"}");
        assertAnswers(400, "PUT", cardUser, badEmail);
        var notObject = f.app().adminJson("PUT", "/api/card-users/oa-user-1", "[1]");
        assertAnswers(400, "PUT", cardUser, notObject);
        var huge = f.app().adminOnOwnConnection("PUT", "/api/card-users/oa-user-1", "{\"email\":\"" + "a".repeat(2_000_000) + "@b.co\"}");
        assertAnswers(413, "PUT", cardUser, huge);

        String sellRequest = "/api/sell-requests/{id}";
        var watched = f.app().adminJson("PUT", "/api/sell-requests/oa-sell-1", "{\"user_uuid\":\"oa-user-1\"}");
        assertAnswers(200, "PUT", sellRequest, watched);
        var noUser = f.app().adminJson("PUT", "/api/sell-requests/oa-sell-1", "{}");
        assertAnswers(400, "PUT", sellRequest, noUser);
        var noToken = f.app().admin("PUT", "/api/sell-requests/oa-sell-1", "{\"user_uuid\":\"oa-user-1\"}", null);
        assertAnswers(401, "PUT", sellRequest, noToken);
    }

    @Test
    void reconciliation_answers_conform() throws Exception {
        // A missed callback (a finished sell request we never heard of), a card movement never
        // seen in a callback, and a sell request of a user nobody registered: findings with
        // detail, and a run with needs_registration.
        CardUserRef user = f.sim().addUser("openapi@f.sim().test");
        SellRequest request = f.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00400000"), new BigDecimal("95.38"));
        f.sim().setSellRequestStatus(request.id(), "succeeded");
        f.sim().postCardTransaction(user.email(), new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("30.06"), "EUR", "John Doe",
                Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(600)));
        assertThat(f.app().adminJson("PUT", "/api/card-users/" + user.userUuid(),
                "{\"email\":\"" + user.email() + "\",\"ip\":\"" + user.ip() + "\"}").statusCode()).isEqualTo(200);
        assertThat(f.app().adminJson("PUT", "/api/sell-requests/" + request.id(), "{\"user_uuid\":\"" + user.userUuid() + "\"}")
                .statusCode()).isEqualTo(200);
        assertThat(f.app().adminJson("PUT", "/api/sell-requests/oa-orphan-1", "{\"user_uuid\":\"oa-unregistered\"}")
                .statusCode()).isEqualTo(200);

        String runs = "/api/reconciliation/runs";
        var started = f.app().admin("POST", runs);
        assertAnswers(202, "POST", runs, started);
        long firstRun = Json.MAPPER.readTree(started.body()).get("id").asLong();
        var second = f.app().admin("POST", runs);   // 409 while the first runs, else a second run
        assertThat(second.statusCode()).isIn(202, 409);
        assertConforms("POST", runs, second);
        awaitRunsFinished();
        var waited = f.app().admin("POST", runs + "?wait=true");
        assertAnswers(200, "POST", runs, waited);

        var list = f.app().admin("GET", runs);
        assertAnswers(200, "GET", runs, list);
        var badLimit = f.app().admin("GET", runs + "?limit=1001");
        assertAnswers(400, "GET", runs, badLimit);

        var detail = f.app().admin("GET", runs + "/" + firstRun);
        assertThat(detail.statusCode()).isEqualTo(200);
        JsonNode run = Json.MAPPER.readTree(detail.body());
        assertThat(run.get("findings")).as("the first run raised findings").isNotEmpty();
        assertThat(run.at("/run/needs_registration")).as("the orphan sell request").isNotEmpty();
        assertConforms("GET", runs + "/{id}", detail);
        var unknownRun = f.app().admin("GET", runs + "/999999");
        assertAnswers(404, "GET", runs + "/{id}", unknownRun);
        var badRun = f.app().admin("GET", runs + "/x");
        assertAnswers(400, "GET", runs + "/{id}", badRun);

        var findings = f.app().admin("GET", "/api/findings?kind=missed_callback");
        assertThat(Json.MAPPER.readTree(findings.body()).get("items")).isNotEmpty();
        assertConforms("GET", "/api/findings", findings);
        var allFindings = f.app().admin("GET", "/api/findings");
        assertConforms("GET", "/api/findings", allFindings);
        var badOpen = f.app().admin("GET", "/api/findings?open=maybe");
        assertAnswers(400, "GET", "/api/findings", badOpen);

        // The transaction the reconciler wrote has no Mercuryo time: the answer still conforms.
        var caught = f.app().admin("GET", "/api/transactions/" + request.id());
        assertAnswers(200, "GET", "/api/transactions/{id}", caught);
    }

    @Test
    void report_answers_conform_in_every_format() throws Exception {
        f.app().postCallback(TRANSACTION_PATH, transaction("oa-report-1", "buy", "paid", Instant.now().getEpochSecond()));
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        String report = "/api/reports/reconciliation";
        for (String format : List.of("json", "csv", "html")) {
            var response = f.app().admin("GET", report + "?from=" + today + "&to=" + today + "&format=" + format);
            assertThat(response.statusCode()).as(format).isEqualTo(200);
            assertConforms("GET", report, response);
        }
        var bad = f.app().admin("GET", report + "?from=" + today + "&to=2000-01-01&format=json");
        assertAnswers(400, "GET", report, bad);
        var noToken = f.app().admin("GET", report + "?from=" + today + "&to=" + today + "&format=json", null);
        assertAnswers(401, "GET", report, noToken);
    }

    // ---------------------------------------------------------------- helpers

    private record Operation(String method, String path, JsonNode node) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private static List<Operation> operations() {
        List<Operation> ops = new ArrayList<>();
        document.get("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(m -> {
            if (METHODS.contains(m.getKey())) {
                ops.add(new Operation(m.getKey().toUpperCase(), p.getKey(), m.getValue()));
            }
        }));
        return ops;
    }

    /** Checks a real answer against the document: its status is documented, and its headers and body match. */
    /** The answer has the status the test expects and conforms to the document. */
    private static void assertAnswers(int status, String method, String path, HttpResponse<String> response) {
        assertThat(response.statusCode()).as(method + " " + path + ": " + response.body()).isEqualTo(status);
        assertConforms(method, path, response);
    }

    private static void assertConforms(String method, String path, HttpResponse<String> response) {
        String status = Integer.toString(response.statusCode());
        String opPointer = "/paths/" + escape(path) + "/" + method.toLowerCase();
        assertThat(document.at(opPointer).isMissingNode()).as(method + " " + path + " is documented").isFalse();
        JsonNode declared = document.at(opPointer + "/responses/" + status);
        assertThat(declared.isMissingNode()).as(method + " " + path + " documents status " + status + " (body " + response.body() + ")")
                .isFalse();
        String responsePointer = declared.has("$ref") ? declared.get("$ref").asText().substring(1) : opPointer + "/responses/" + status;
        JsonNode resolved = document.at(responsePointer);
        String what = method + " " + path + " " + status;

        Iterator<Map.Entry<String, JsonNode>> headers = resolved.path("headers").fields();
        while (headers.hasNext()) {
            Map.Entry<String, JsonNode> header = headers.next();
            var value = response.headers().firstValue(header.getKey());
            if (header.getValue().path("required").asBoolean(false)) {
                assertThat(value).as(what + " header " + header.getKey()).isPresent();
            }
            if (value.isPresent()) {
                assertThat(violations(responsePointer + "/headers/" + escape(header.getKey()) + "/schema",
                        Json.MAPPER.getNodeFactory().textNode(value.get())))
                        .as(what + " header " + header.getKey() + ": " + value.get()).isEmpty();
            }
        }

        String contentType = response.headers().firstValue("Content-Type").orElse("");
        String mediaType = contentType.split(";")[0].trim();
        if (response.body().isEmpty()) {
            assertThat(resolved.has("content")).as(what + " has no body").isFalse();
            return;
        }
        JsonNode media = resolved.path("content").path(mediaType);
        assertThat(media.isMissingNode()).as(what + " documents content type " + contentType).isFalse();
        if (mediaType.equals("application/json")) {
            JsonNode body;
            try {
                body = Json.MAPPER.readTree(response.body());
            } catch (Exception e) {
                throw new AssertionError(what + " body is not JSON: " + response.body(), e);
            }
            assertThat(violations(responsePointer + "/content/" + escape(mediaType) + "/schema", body))
                    .as(what + " body " + abbreviate(response.body())).isEmpty();
        } else {
            assertThat(violations(responsePointer + "/content/" + escape(mediaType) + "/schema",
                    Json.MAPPER.getNodeFactory().textNode(response.body()))).as(what).isEmpty();
        }
    }

    /** Violations of a value against the schema at a pointer, or against the JSON body schema of the response object there. */
    private static Set<ValidationMessage> violations(String pointer, JsonNode value) {
        JsonNode at = document.at(pointer);
        if (at.has("$ref") && at.get("$ref").asText().startsWith("#/components/responses/")) {
            pointer = at.get("$ref").asText().substring(1);
            at = document.at(pointer);
        }
        if (at.has("description") && at.has("content")) {
            pointer = pointer + "/content/application~1json/schema";
        }
        assertThat(document.at(pointer).isMissingNode()).as("a schema at " + pointer).isFalse();
        return schema(pointer).validate(value);
    }

    private static JsonSchema schema(String pointer) {
        return compiled.computeIfAbsent(pointer, p -> {
            ObjectNode wrapper = Json.MAPPER.createObjectNode();
            wrapper.put("$schema", OpenApi31.getInstance().getIri());
            // A pointer in a URI fragment: the braces of path templates are percent-encoded (RFC 6901 section 6).
            wrapper.put("$ref", DOCUMENT_IRI + "#" + p.replace("{", "%7B").replace("}", "%7D"));
            return schemas.getSchema(wrapper);
        });
    }

    private static JsonNode resolve(JsonNode node) {
        return node.has("$ref") ? document.at(node.get("$ref").asText().substring(1)) : node;
    }

    private static void collectRefs(JsonNode node, List<String> refs) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("$ref") && e.getValue().isTextual()) {
                    refs.add(e.getValue().asText());
                } else {
                    collectRefs(e.getValue(), refs);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collectRefs(n, refs));
        }
    }

    /** Pointers of every {@code schema} (of a media type, a parameter or a header) under a node. */
    private static void collectSchemaPointers(JsonNode node, String pointer, List<String> pointers) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                String child = pointer + "/" + escape(e.getKey());
                if (e.getKey().equals("schema")) {
                    pointers.add(child);
                } else {
                    collectSchemaPointers(e.getValue(), child, pointers);
                }
            });
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collectSchemaPointers(node.get(i), pointer + "/" + i, pointers);
            }
        }
    }

    private static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    private static String abbreviate(String s) {
        return s.length() > 2_000 ? s.substring(0, 2_000) + "..." : s;
    }

    private static long quarantinedValidBody(String transactionId) {
        // A body an earlier parser version rejected, stored as it would have been.
        byte[] body = transaction(transactionId, "sell", "succeeded", 900).getBytes(StandardCharsets.UTF_8);
        long callbackId = f.app().dsl().insertInto(CALLBACK)
                .set(CALLBACK.ROUTE, "transaction").set(CALLBACK.BODY, body).set(CALLBACK.BODY_SHA256, new byte[32])
                .set(CALLBACK.SIGNATURE_KEY, "test").set(CALLBACK.SIGNATURE_VARIANT, "raw").set(CALLBACK.OUTCOME, "quarantined")
                .returning(CALLBACK.ID).fetchSingle(CALLBACK.ID);
        return f.app().dsl().insertInto(QUARANTINE).set(QUARANTINE.CALLBACK_ID, callbackId).set(QUARANTINE.ROUTE, "transaction")
                .set(QUARANTINE.BODY, body).set(QUARANTINE.REASON, "old parser said no")
                .returning(QUARANTINE.ID).fetchSingle(QUARANTINE.ID);
    }

    /** Both runs were started on this instance: waits on its reconciler, then checks none is left running. */
    private static void awaitRunsFinished() throws Exception {
        f.app().app().reconciler().awaitStartedRuns(Duration.ofSeconds(60));
        for (JsonNode run : Json.MAPPER.readTree(f.app().admin("GET", "/api/reconciliation/runs").body()).get("items")) {
            assertThat(run.get("status").asText()).as(run.toString()).isNotEqualTo("running");
        }
    }
}
