package dev.mercuryobridge.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.testing.Callbacks;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Golden tests of the reconciliation report on a known data set built through the real write
 * path (signed callbacks, then a reconciliation run against the simulator).
 */
class ReconciliationReportTest {
    @RegisterExtension
    static final SimulatedApp f = SimulatedApp.perClass(Map.of("REPORT_MAX_DAYS", "31"));
    private static String missedId;
    private static CardUserRef cardUser;

    private static long ts(String iso) {
        return Instant.parse(iso).getEpochSecond();
    }

    private static String transaction(String id, String type, String method, String status, String createdIso, long updatedTs,
                                      String amount, String currency, String fiat, String fiatCurrency, String fee,
                                      String userUuid, String email) {
        return """
                {"data":{"id":"%s","type":"%s","status":"%s","payment_method":"%s","amount":"%s","currency":"%s",\
                "fiat_amount":"%s","fiat_currency":"%s","fee":"%s","partner_fee":"0.00","rate":"25756.99",\
                "merchant_transaction_id":"m-%s","created_at_ts":%d,"updated_at_ts":%d,\
                "user":{"uuid4":"%s","email":"%s"}}}""".formatted(id, type, status, method, amount, currency, fiat,
                fiatCurrency, fee, id, ts(createdIso), updatedTs, userUuid, email);
    }

    @BeforeAll
    static void seed() throws Exception {
        cardUser = f.sim().addUser("finance@f.sim().test");
        String uuid = cardUser.userUuid();
        // The operator registers its card user with their real IP: only then is the user polled.
        assertThat(f.app().adminJson("PUT", "/api/card-users/" + uuid, "{\"email\":\"finance@f.sim().test\",\"ip\":\"203.0.113.9\"}")
                .statusCode()).isEqualTo(200);
        // T1: a card purchase of crypto, new -> pending -> paid: matched.
        for (String[] s : new String[][] {{"new", "2024-03-01T10:00:00Z"}, {"pending", "2024-03-01T10:00:30Z"}, {"paid", "2024-03-01T10:01:00Z"}}) {
            post(transaction("t1buy", "buy", "card", s[0], "2024-03-01T10:00:00Z", ts(s[1]), "0.00148310", "BTC",
                    "50.00", "USD", "11.80", uuid, "finance@f.sim().test"));
        }
        // T2: a Spend Card top-up; its final callback never comes, Mercuryo says succeeded: missed_callback.
        SellRequest request = f.sim().createSellRequest("finance@f.sim().test", "BTC", new BigDecimal("0.00400000"), new BigDecimal("95.38"));
        f.sim().setSellRequestStatus(request.id(), "succeeded");
        missedId = request.id();
        post(transaction(missedId, "sell", "spend_card_topup", "new", "2024-03-01T12:00:00Z", ts("2024-03-01T12:00:00Z"),
                "0.00400000", "BTC", "95.38", "EUR", "1.20", uuid, "finance@f.sim().test"));
        post(transaction(missedId, "sell", "spend_card_topup", "pending", "2024-03-01T12:00:00Z", ts("2024-03-01T12:05:00Z"),
                "0.00400000", "BTC", "95.38", "EUR", "1.20", uuid, "finance@f.sim().test"));
        // T3: still pending: unresolved.
        post(transaction("t3buy", "buy", "card", "pending", "2024-03-02T08:00:00Z", ts("2024-03-02T08:00:00Z"),
                "0.00100000", "BTC", "30.10", "USD", "2.00", uuid, "finance@f.sim().test"));
        // T4: created before the period: not in the report.
        post(transaction("t4old", "buy", "card", "paid", "2024-02-28T23:59:59Z", ts("2024-02-29T00:00:10Z"),
                "0.00100000", "BTC", "25.00", "USD", "1.00", uuid, "finance@f.sim().test"));

        // The card: 100.00 in before the period, 30.00 out and 20.00 in during it: closing 90.00.
        List<CardTransaction> ledger = List.of(
                new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("100.00"), "EUR", "Mercuryo", Instant.parse("2024-02-29T09:00:00Z")),
                new CardTransaction("PURCHASE", "CLEARED", new BigDecimal("30.00"), "EUR", "Shop", Instant.parse("2024-03-01T15:00:00Z")),
                new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("20.00"), "EUR", "Mercuryo", Instant.parse("2024-03-02T09:00:00Z")));
        f.sim().addCardTransactions("finance@f.sim().test", ledger);
        for (CardTransaction t : ledger) {
            f.post(Callbacks.SPEND_CARD_PATH, """
                    {"event_id":"%s","event_name":"card_transaction","card_id":"%s","user":{"uuid4":"%s"},\
                    "transaction":{"type":"%s","status":"CLEARED","amount":"%s","currency":"EUR","timestamp":"%s"}}"""
                    .formatted(UUID.randomUUID(), cardUser.cardId(), uuid, t.type(), t.amount().toPlainString(), t.timestamp()));
        }
        // Today T2's top-up reaches the card: its crypto_top_up says the balance after it is 185.38
        // (a checkpoint). A 5.00 purchase follows that no callback ever tells of: Mercuryo's balance
        // is 5.00 short of what the callbacks imply.
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        f.sim().addCardTransactions("finance@f.sim().test", List.of(
                new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("95.38"), "EUR", "Crypto top-up", now),
                new CardTransaction("PURCHASE", "CLEARED", new BigDecimal("5.00"), "EUR", "Unseen shop", now.plusSeconds(1))));
        f.post(Callbacks.SPEND_CARD_PATH, """
                {"event_id":"%s","event_name":"crypto_top_up","card_id":"%s","user":{"uuid4":"%s"},\
                "sell_request":{"id":"%s","status":"succeeded","fiat_amount":"95.38","fiat_currency":"EUR"},\
                "card_balance":{"fiat_amount":"185.38","fiat_currency":"EUR"}}"""
                .formatted(UUID.randomUUID(), cardUser.cardId(), uuid, missedId));
        f.sim().setBalance("finance@f.sim().test", new BigDecimal("180.38"));

        var run = f.app().admin("POST", "/api/reconciliation/runs?wait=true");
        assertThat(run.statusCode()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(run.body()).get("status").asText()).as(run.body()).isEqualTo("succeeded");
    }

    private static void post(String body) {
        f.post(Callbacks.TRANSACTION_PATH, body);
    }

    private static JsonNode jsonReport(String from, String to) throws Exception {
        var response = f.app().admin("GET", "/api/reports/reconciliation?from=" + from + "&to=" + to + "&format=json");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.MAPPER.readTree(response.body());
    }

    private static JsonNode row(JsonNode rows, String field, String value) {
        for (JsonNode r : rows) {
            if (value.equals(r.path(field).asText())) {
                return r;
            }
        }
        throw new AssertionError("no row with " + field + "=" + value + " in " + rows);
    }

    @Test
    void json_report_has_every_column_and_total_of_the_known_data_set() throws Exception {
        JsonNode report = jsonReport("2024-03-01", "2024-03-02");

        JsonNode header = report.get("header");
        assertThat(header.get("period_from").asText()).isEqualTo("2024-03-01");
        assertThat(header.get("period_to").asText()).isEqualTo("2024-03-02");
        assertThat(header.get("time_zone").asText()).isEqualTo("UTC");
        assertThat(header.get("lines").asLong()).isEqualTo(3);
        assertThat(header.get("counts_by_result").toString()).isEqualTo(
                "{\"missing_at_mercuryo\":0,\"status_mismatch\":0,\"amount_mismatch\":0,\"missed_callback\":1,\"unresolved\":1,\"matched\":1}");

        JsonNode transactions = report.get("transactions");
        assertThat(transactions).hasSize(3);
        assertThat(transactions.findValuesAsText("transaction_id")).containsExactly("t1buy", missedId, "t3buy");
        JsonNode t1 = row(transactions, "transaction_id", "t1buy");
        assertThat(t1.toString()).isEqualTo("""
                {"transaction_id":"t1buy","merchant_transaction_id":"m-t1buy","transaction_type":"buy","payment_method":"card",\
                "status_from_callbacks":"paid","status_from_api":null,"amount":"0.00148310","currency":"BTC","fiat_amount":"50.00",\
                "fiat_currency":"USD","fee":"11.80","partner_fee":"0.00","rate":"25756.99","created_at":"2024-03-01T10:00:00Z",\
                "updated_at":"2024-03-01T10:01:00Z","result":"matched","detected_by":"callback","detected_at":%s}"""
                .formatted(Json.MAPPER.writeValueAsString(t1.get("detected_at").asText())));
        JsonNode t2 = row(transactions, "transaction_id", missedId);
        assertThat(t2.get("status_from_callbacks").asText()).isEqualTo("pending");
        assertThat(t2.get("status_from_api").asText()).isEqualTo("succeeded");
        assertThat(t2.get("result").asText()).isEqualTo("missed_callback");
        assertThat(t2.get("detected_by").asText()).isEqualTo("reconciler");
        assertThat(t2.get("fiat_amount").asText()).isEqualTo("95.38");
        assertThat(t2.get("fee").asText()).isEqualTo("1.20");
        assertThat(row(transactions, "transaction_id", "t3buy").get("result").asText()).isEqualTo("unresolved");

        // The card over the period, explained: opening + movements = closing; today's top-up takes
        // the callbacks' balance to 185.38 at the API check; Mercuryo says 180.38.
        JsonNode card = row(report.get("cards"), "card_id", cardUser.cardId());
        assertThat(card.get("user_uuid").asText()).isEqualTo(cardUser.userUuid());
        assertThat(card.get("currency").asText()).isEqualTo("EUR");
        assertThat(card.get("opening_balance").asText()).isEqualTo("100.00");
        assertThat(card.get("opening_basis").asText()).isEqualTo("callbacks_only");
        assertThat(card.get("top_ups").asText()).isEqualTo("20.00");
        assertThat(card.get("purchases").asText()).isEqualTo("30.00");
        assertThat(card.get("other_activity").asText()).isEqualTo("0");
        assertThat(card.get("checkpoint_corrections").asText()).isEqualTo("0");
        assertThat(card.get("closing_balance").asText()).isEqualTo("90.00");
        assertThat(card.get("api_balance").asText()).isEqualTo("180.38");
        assertThat(card.get("api_balance_currency").asText()).isEqualTo("EUR");
        assertThat(Instant.parse(card.get("api_balance_checked_at").asText())).isAfter(Instant.parse("2024-03-03T00:00:00Z"));
        assertThat(card.get("change_to_api_check").asText()).isEqualTo("95.38");
        assertThat(card.get("expected_at_api_check").asText()).isEqualTo("185.38");
        assertThat(card.get("unexplained_difference").asText()).isEqualTo("-5.00");
        assertThat(card.get("notes").asText()).contains("no card_balance checkpoint before the period");
        assertThat(card.get("movements").toString()).isEqualTo("""
                [{"movement_type":"PURCHASE","movement_status":"CLEARED","currency":"EUR","count":1,"amount_total":"30.00",\
                "effect_total":"-30.00"},{"movement_type":"TOP_UP","movement_status":"CLEARED","currency":"EUR","count":1,\
                "amount_total":"20.00","effect_total":"20.00"}]""");

        // What explains the 5.00 is open: the purchase Mercuryo lists that no callback told of, and the drift.
        assertThat(header.get("open_findings").asLong()).isEqualTo(report.get("open_findings").size());
        JsonNode unseen = row(report.get("open_findings"), "kind", "unseen_card_transaction");
        assertThat(unseen.get("subject").asText()).isEqualTo(cardUser.userUuid());
        assertThat(unseen.get("actual").asText()).startsWith("PURCHASE 5.00 EUR at ");
        JsonNode drift = row(report.get("open_findings"), "kind", "balance_drift");
        assertThat(drift.get("expected").asText()).isEqualTo("185.38 EUR");
        assertThat(drift.get("actual").asText()).isEqualTo("180.38 EUR");
        assertThat(drift.get("detected_by").asText()).isEqualTo("reconciler");
        assertThat(drift.get("age_seconds").asLong()).isEqualTo(Duration.between(Instant.parse(drift.get("open_since").asText()),
                Instant.parse(header.get("generated_at").asText())).toSeconds()).isGreaterThanOrEqualTo(0);
        ReportSchema.assertValid(report);

        // Per day and currency, against a sum computed here from the transaction lines.
        Map<String, BigDecimal> expected = new HashMap<>();
        for (JsonNode t : transactions) {
            String key = LocalDate.ofInstant(Instant.parse(t.get("created_at").asText()), ZoneOffset.UTC) + "|"
                    + t.get("fiat_currency").asText() + "|" + t.get("transaction_type").asText() + "|" + statusOf(t);
            expected.merge(key, new BigDecimal(t.get("fiat_amount").asText()), BigDecimal::add);
        }
        Map<String, BigDecimal> daily = new HashMap<>();
        for (JsonNode d : report.get("daily")) {
            daily.put(d.get("day").asText() + "|" + d.get("currency").asText() + "|" + d.get("transaction_type").asText()
                    + "|" + d.get("status").asText(), new BigDecimal(d.get("fiat_amount_total").asText()));
        }
        assertThat(daily).isEqualTo(expected);
        assertThat(row(report.get("daily"), "currency", "EUR").toString()).isEqualTo(
                "{\"day\":\"2024-03-01\",\"currency\":\"EUR\",\"transaction_type\":\"sell\",\"status\":\"succeeded\",\"count\":1,"
                        + "\"fiat_amount_total\":\"95.38\",\"fee_total\":\"1.20\"}");

        assertThat(header.get("chart")).hasSize(2);
        assertThat(header.at("/chart/0/day").asText()).isEqualTo("2024-03-01");
    }

    private static String statusOf(JsonNode t) {
        return switch (t.get("result").asText()) {
            case "missed_callback" -> t.get("status_from_api").asText();
            default -> t.get("status_from_callbacks").asText();
        };
    }

    @Test
    void todays_chart_counts_the_callbacks_received_and_the_missed_callback_caught() throws Exception {
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        JsonNode chart = jsonReport(today, today).at("/header/chart/0");
        int callbacks = f.app().dsl().fetchCount(dev.mercuryobridge.db.generated.Tables.CALLBACK);
        int open = f.app().dsl().fetchCount(dev.mercuryobridge.db.generated.Tables.FINDING,
                dev.mercuryobridge.db.generated.Tables.FINDING.RESOLVED_AT.isNull());
        assertThat(chart.get("day").asText()).isEqualTo(today);
        assertThat(chart.get("callbacks_received").asLong()).isEqualTo(callbacks);
        assertThat(chart.get("missed_callbacks_caught").asLong()).isEqualTo(1);
        assertThat(chart.get("open_findings").asLong()).isEqualTo(open).isGreaterThanOrEqualTo(1);
    }

    /** The report at a fixed instant of its clock, written directly in one format. */
    private static String report(Clock clock, String from, String to, String format) throws Exception {
        var out = new java.io.ByteArrayOutputStream();
        new ReconciliationReport(f.app().dsl(), clock).write(ReportRequest.parse(from, to, format, null, 31), out);
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void csv_parsed_back_matches_the_json() throws Exception {
        Clock clock = Clock.fixed(Instant.now().plusSeconds(3_600), ZoneOffset.UTC);
        JsonNode json = Json.MAPPER.readTree(report(clock, "2024-03-01", "2024-03-02", "json"));
        String csv = report(clock, "2024-03-01", "2024-03-02", "csv");
        var response = f.app().admin("GET", "/api/reports/reconciliation?from=2024-03-01&to=2024-03-02&format=csv");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/csv");

        Map<String, List<Map<String, String>>> sections = new HashMap<>();
        try (CSVParser parser = CSVParser.parse(new StringReader(csv),
                CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get())) {
            for (CSVRecord r : parser) {
                Map<String, String> values = new HashMap<>();
                for (String column : CsvReport.sectionColumns(r.get("section"))) {
                    values.put(column, r.get(column));
                }
                sections.computeIfAbsent(r.get("section"), k -> new ArrayList<>()).add(values);
            }
        }
        assertThat(sections.get("finding")).isEqualTo(asCsv(json.get("open_findings"))).isNotEmpty();
        assertThat(sections.get("transaction")).isEqualTo(asCsv(json.get("transactions")));
        List<Map<String, String>> cards = asCsv(json.get("cards"));
        cards.forEach(c -> c.remove("movements"));   // in the CSV, card_movement rows
        assertThat(sections.get("card")).isEqualTo(cards);
        List<Map<String, String>> movements = new ArrayList<>();
        for (JsonNode card : json.get("cards")) {
            for (Map<String, String> m : asCsv(card.get("movements"))) {
                m.put("card_id", card.get("card_id").isNull() ? "" : card.get("card_id").asText());
                m.put("user_uuid", card.get("user_uuid").asText());
                movements.add(m);
            }
        }
        assertThat(sections.get("card_movement")).isEqualTo(movements).isNotEmpty();
        assertThat(sections.get("daily")).isEqualTo(asCsv(json.get("daily")));
        assertThat(sections.get("chart")).isEqualTo(asCsv(json.at("/header/chart")));
        assertThat(sections.get("summary")).contains(Map.of("metric", "result_missed_callback", "value", "1"),
                Map.of("metric", "open_findings", "value", json.at("/header/open_findings").asText()),
                Map.of("metric", "generated_at", "value", clock.instant().toString()));
    }

    @Test
    void open_findings_are_aged_by_the_reports_clock_in_every_format() throws Exception {
        JsonNode now = jsonReport("2024-03-01", "2024-03-02");
        Instant newest = now.get("open_findings").valueStream().map(f -> Instant.parse(f.get("open_since").asText()))
                .max(Instant::compareTo).orElseThrow();
        // Three days and a bit after the newest finding opened.
        Clock later = Clock.fixed(newest.plus(Duration.ofDays(3)).plusSeconds(7_265), ZoneOffset.UTC);
        JsonNode json = Json.MAPPER.readTree(report(later, "2024-03-01", "2024-03-02", "json"));
        ReportSchema.assertValid(json);
        assertThat(json.at("/header/generated_at").asText()).isEqualTo(later.instant().toString());
        for (JsonNode f : json.get("open_findings")) {
            assertThat(f.get("age_seconds").asLong()).as(f.toString())
                    .isEqualTo(Duration.between(Instant.parse(f.get("open_since").asText()), later.instant()).toSeconds());
        }
        JsonNode drift = row(json.get("open_findings"), "kind", "balance_drift");

        String html = report(later, "2024-03-01", "2024-03-02", "html");
        ReportsOnHostileDataTest.HtmlWellFormed.check(html);
        assertThat(html).contains("<table id=\"findings\">").contains("<td>" + cardUser.userUuid() + "</td>")
                .contains("data-seconds=\"" + drift.get("age_seconds").asLong() + "\">"
                        + HtmlReport.age(drift.get("age_seconds").asLong()) + "</td>")
                .contains("<div class=\"value\" id=\"open-findings\">" + json.at("/header/open_findings").asLong() + "</div>")
                .contains("<table id=\"cards\">").contains("PURCHASE CLEARED EUR: 1 for 30.00, balance -30.00");
        assertThat(HtmlReport.age(drift.get("age_seconds").asLong())).startsWith("3 d 2 h");
    }

    @Test
    void todays_report_shows_the_top_up_and_its_checkpoint() throws Exception {
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        JsonNode report = jsonReport(today, today);
        ReportSchema.assertValid(report);
        JsonNode card = row(report.get("cards"), "card_id", cardUser.cardId());
        assertThat(card.get("opening_balance").asText()).isEqualTo("90.00");
        assertThat(card.get("top_ups").asText()).isEqualTo("95.38");
        assertThat(card.get("checkpoint_corrections").asText()).isEqualTo("0.00");
        assertThat(card.get("closing_balance").asText()).isEqualTo("185.38");
        assertThat(card.get("change_to_api_check").asText()).isEqualTo("0.00");
        assertThat(card.get("unexplained_difference").asText()).isEqualTo("-5.00");
        assertThat(card.get("movements").toString()).isEqualTo("""
                [{"movement_type":"TOP_UP","movement_status":"SUCCEEDED","currency":"EUR","count":1,"amount_total":"95.38",\
                "effect_total":"95.38"}]""");
    }

    private static List<Map<String, String>> asCsv(JsonNode rows) {
        List<Map<String, String>> out = new ArrayList<>();
        for (JsonNode r : rows) {
            Map<String, String> values = new HashMap<>();
            r.fields().forEachRemaining(e -> values.put(e.getKey(), e.getValue().isNull() ? "" : e.getValue().asText()));
            out.add(values);
        }
        return out;
    }

    @Test
    void bad_requests_get_400_with_a_clear_message() throws Exception {
        String[][] cases = {
                {"to=2024-03-02&format=json", "'from' is required"},
                {"from=2024-03-01&format=json", "'to' is required"},
                {"from=2024-03-05&to=2024-03-01&format=json", "is before"},
                {"from=2024-03-01&to=2024-03-02&format=xml", "unknown format"},
                {"from=2024-03-01&to=2024-03-02", "'format' is required"},
                {"from=2024-3-1&to=2024-03-02&format=csv", "not a date"},
                {"from=2024-01-01&to=2024-12-31&format=csv", "at most 31"},
                {"from=2024-03-01&to=2024-03-02&format=csv&zone=Mars/Olympus", "unknown time zone"},
        };
        for (String[] c : cases) {
            var response = f.app().admin("GET", "/api/reports/reconciliation?" + c[0]);
            assertThat(response.statusCode()).as(c[0]).isEqualTo(400);
            JsonNode body = Json.MAPPER.readTree(response.body());
            assertThat(body.get("error").asText()).isEqualTo("invalid_report_request");
            assertThat(body.get("message").asText()).as(c[0]).contains(c[1]);
        }
        assertThat(f.app().admin("GET", "/api/reports/reconciliation?from=2024-03-01&to=2024-03-02&format=csv", null).statusCode())
                .isEqualTo(401);
    }

    @Test
    void command_line_writes_the_same_report_and_exits_non_zero_with_the_same_messages(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Map<String, String> env = Map.of("DATABASE_URL", f.app().app().config().databaseUrl(),
                "DATABASE_USER", "postgres", "DATABASE_PASSWORD", "postgres", "REPORT_MAX_DAYS", "31");
        Path out = dir.resolve("report.json");
        int status = ReportCommand.run(new String[] {"--from", "2024-03-01", "--to", "2024-03-02", "--format", "json",
                "--out", out.toString()}, env);
        assertThat(status).isZero();
        JsonNode fromCli = Json.MAPPER.readTree(Files.readString(out));
        JsonNode fromApi = jsonReport("2024-03-01", "2024-03-02");
        assertThat(fromCli.get("transactions")).isEqualTo(fromApi.get("transactions"));
        assertThat(fromCli.get("cards")).isEqualTo(fromApi.get("cards"));
        assertThat(fromCli.get("daily")).isEqualTo(fromApi.get("daily"));

        assertThat(ReportCommand.run(new String[] {"--from", "2024-03-05", "--to", "2024-03-01", "--format", "csv",
                "--out", dir.resolve("x.csv").toString()}, env)).isEqualTo(2);
        assertThat(ReportCommand.run(new String[] {"--from", "2024-03-01", "--to", "2024-03-02", "--format", "pdf"}, env)).isEqualTo(2);
        assertThat(ReportCommand.run(new String[] {"--bogus", "1"}, env)).isEqualTo(2);
        assertThat(ReportCommand.run(new String[] {"--from", "2024-03-01", "--to", "2024-03-02", "--format", "csv"}, Map.of()))
                .isEqualTo(2);
        assertThat(Files.exists(dir.resolve("x.csv"))).isFalse();
    }
}
