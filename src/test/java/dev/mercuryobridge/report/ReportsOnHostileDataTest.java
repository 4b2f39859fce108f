package dev.mercuryobridge.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.ingest.Callback;
import dev.mercuryobridge.ingest.IngestListener;
import dev.mercuryobridge.ingest.IngestService;
import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.outbox.Messages;
import dev.mercuryobridge.testing.FuzzBodies;
import dev.mercuryobridge.testing.FuzzCases;
import dev.mercuryobridge.testing.TestApp;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

import java.io.StringReader;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.mercuryobridge.db.generated.Tables.CALLBACK;
import static dev.mercuryobridge.testing.Callbacks.SPEND_CARD_PATH;
import static dev.mercuryobridge.testing.Callbacks.TRANSACTION_PATH;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whatever can be stored can be reported: hostile text planted through the callback routes, then
 * each try stores a batch of fuzzed bodies of both routes through the real write path and asks
 * the admin API for the report in every format over the period. Each must parse (CSV with
 * commons-csv, JSON with Jackson and against the report's JSON Schema, HTML well-formed),
 * formula-looking text must be neutralised in the CSV, numbers, negative ones included, must stay
 * numbers, and each card's explanation must add up.
 */
class ReportsOnHostileDataTest {
    private static final String[] FORMULAS = {"=HYPERLINK(\"http://evil.test\",\"click\")", "+1+2", "-2+3", "@SUM(A1:A9)",
            "\tTAB", "\rCR", "=cmd|' /C calc'!A0"};
    private static final String[] MARKUP = {"<script>alert(1)</script>", "</td></tr></table><b>", "a,b\"c\nd", "\u0001ctrl\u007f"};
    /** Columns holding numbers (or nothing); every other cell is text. */
    private static final Set<String> NUMERIC = Set.of("amount", "fiat_amount", "fee", "partner_fee", "rate", "opening_balance",
            "top_ups", "purchases", "other_activity", "checkpoint_corrections", "closing_balance", "api_balance",
            "change_to_api_check", "expected_at_api_check", "unexplained_difference", "amount_total", "effect_total",
            "fiat_amount_total", "fee_total", "count", "callbacks_received", "missed_callbacks_caught", "open_findings",
            "finding_id", "age_seconds");

    private static TestApp app;
    private static IngestService ingest;
    private static FuzzBodies.Pools pools;
    private static LocalDate today;
    private static final java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();
    private static final SignatureVerifier.Match MATCH =
            new SignatureVerifier.Match(0, SignatureVerifier.fingerprint(TestApp.SIGN_KEY), SignatureVerifier.Variant.RAW);

    @BeforeContainer
    static void start() {
        app = TestApp.start();
        ingest = new IngestService(app.dsl(), new Messages(app.app().config().topics()), IngestListener.NONE, java.time.Clock.systemUTC());
        long now = Instant.now().getEpochSecond();
        today = LocalDate.now(ZoneOffset.UTC);
        pools = FuzzBodies.Pools.of("r", now);
        plantHostileText(now);
    }

    @AfterContainer
    static void stop() {
        if (app != null) {
            System.out.printf("fuzz (reports): %,d stored bodies reported in csv, json and html after each of %d batches%n",
                    app.dsl().fetchCount(CALLBACK), batches.get());
            app.close();
        }
    }

    /** Formula and markup text in every text field a report shows, stored through the routes. */
    private static void plantHostileText(long now) {
        String cardId = "hostilecard1";
        int n = 0;
        for (String text : concat(FORMULAS, MARKUP)) {
            String id = "hostile" + (n++);
            String body = """
                    {"data":{"id":"%s","type":"buy","status":"paid","amount":"0.00148310","currency":"BTC",\
                    "fiat_amount":"-5.00","fiat_currency":"USD","fee":"-0.50","partner_fee":"0.00","rate":"25756.99",\
                    "payment_method":"card","merchant_transaction_id":%s,"created_at_ts":%d,"updated_at_ts":%d,\
                    "card_id":%s,"user":{"uuid4":%s,"email":"h@fuzz.test"}}}"""
                    .formatted(id, json(text), now, now + 1,
                            // One card user: the first, whose uuid is formula text (the card section shows it).
                            n == 1 ? json(cardId) : "null", json(n == 1 ? FORMULAS[6] : "u-" + n));
            assertThat(app.postCallback(TRANSACTION_PATH, body).statusCode()).isEqualTo(200);
        }
        String event = """
                {"event_id":"%s","event_name":"card_transaction","card_id":"%s","user":{"uuid4":"hostileuser1"},\
                "transaction":{"type":"PURCHASE","status":"CLEARED","amount":"-5.00","currency":"=1+2",\
                "timestamp":"%s"}}""".formatted(UUID.randomUUID(), cardId, Instant.ofEpochSecond(now));
        HttpResponse<String> response = app.postCallback(SPEND_CARD_PATH, event);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("X-Callback-Outcome")).hasValue("accepted");
    }

    @Provide
    Arbitrary<List<FuzzBodies.Body>> transactionBatches() {
        return FuzzBodies.transactions(pools).list().ofSize(150);
    }

    @Provide
    Arbitrary<List<FuzzBodies.Body>> spendCardBatches() {
        return FuzzBodies.spendCardEvents(pools).list().ofSize(150);
    }

    @Property(shrinking = ShrinkingMode.OFF)
    @FuzzCases(test = 3, fuzz = 30)
    void after_any_stored_data_every_report_format_parses_neutralises_formulas_and_keeps_numbers(
            @ForAll("transactionBatches") List<FuzzBodies.Body> transactions,
            @ForAll("spendCardBatches") List<FuzzBodies.Body> events) throws Exception {
        transactions.forEach(b -> ingest.ingest(Callback.Route.TRANSACTION, b.bytes(), MATCH));
        events.forEach(b -> ingest.ingest(Callback.Route.SPEND_CARD, b.bytes(), MATCH));

        checkCsv(report("csv"));
        checkJson(report("json"));
        checkHtml(report("html"));
        batches.incrementAndGet();
    }

    private static String report(String format) {
        HttpResponse<String> response = app.admin("GET", "/api/reports/reconciliation?from=" + today.minusDays(1)
                + "&to=" + today.plusDays(1) + "&format=" + format);
        assertThat(response.statusCode()).as(format + ": " + abbreviate(response.body())).isEqualTo(200);
        return response.body();
    }

    private static void checkCsv(String csv) throws Exception {
        List<CSVRecord> records;
        List<String> header;
        try (CSVParser parser = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get()
                .parse(new StringReader(csv))) {
            header = parser.getHeaderNames();
            records = parser.getRecords();
        }
        assertThat(header).isEqualTo(CsvReport.COLUMNS);
        int transactions = 0;
        for (CSVRecord r : records) {
            assertThat(r.isConsistent()).as("row %d has every column", r.getRecordNumber()).isTrue();
            for (String column : header) {
                String cell = r.get(column);
                if (cell.isEmpty()) {
                    continue;
                }
                if (NUMERIC.contains(column) && !r.get("section").equals("summary")) {
                    assertThat(new BigDecimal(cell)).as("%s in row %d is a number", column, r.getRecordNumber()).isNotNull();
                } else {
                    assertThat("=+-@\t\r".indexOf(cell.charAt(0)))
                            .as("text cell %s in row %d must not start like a formula: %s", column, r.getRecordNumber(), cell)
                            .isEqualTo(-1);
                }
            }
            if (r.get("section").equals("transaction") && r.get("transaction_id").startsWith("hostile")) {
                transactions++;
                assertThat(r.get("fiat_amount")).isEqualTo("-5.00");
                assertThat(r.get("fee")).isEqualTo("-0.50");
            }
        }
        assertThat(transactions).isEqualTo(FORMULAS.length + MARKUP.length);
        for (CSVRecord r : records) {
            if (r.get("section").equals("card")) {
                BigDecimal explained = new BigDecimal(r.get("opening_balance")).add(new BigDecimal(r.get("top_ups")))
                        .subtract(new BigDecimal(r.get("purchases"))).add(new BigDecimal(r.get("other_activity")))
                        .add(new BigDecimal(r.get("checkpoint_corrections")));
                assertThat(explained).as("card row %d adds up", r.getRecordNumber())
                        .isEqualByComparingTo(new BigDecimal(r.get("closing_balance")));
            }
        }
        List<String> merchantIds = records.stream().map(r -> r.get("merchant_transaction_id")).toList();
        for (String formula : FORMULAS) {
            if (formula.startsWith("=cmd")) {
                continue;   // planted as a user uuid below
            }
            assertThat(merchantIds).contains("'" + formula);
        }
        CSVRecord card = records.stream().filter(r -> r.get("card_id").equals("hostilecard1")).findFirst().orElseThrow();
        assertThat(card.get("currency")).isEqualTo("'=1+2");
        // The card user comes from the Spend Card event (an id, validated at ingest); a purchase's
        // amount is its size, the type gives the direction (CardLedger).
        assertThat(card.get("user_uuid")).isEqualTo("hostileuser1");
        assertThat(card.get("purchases")).isEqualTo("5.00");
    }

    private static void checkJson(String json) throws Exception {
        JsonNode report = Json.MAPPER.readTree(json);
        ReportSchema.assertValid(report);
        assertThat(report.get("transactions").isArray()).isTrue();
        assertThat(report.get("cards").isArray()).isTrue();
        assertThat(report.get("daily").isArray()).isTrue();
        List<String> merchantIds = report.get("transactions").valueStream()
                .map(t -> t.get("merchant_transaction_id").asText()).toList();
        // JSON is data, not a spreadsheet: the text is exact.
        assertThat(merchantIds).contains(FORMULAS[0], FORMULAS[4], MARKUP[0], MARKUP[2]);
        report.get("transactions").forEach(t -> {
            if (!t.get("amount").isNull()) {
                assertThat(new BigDecimal(t.get("amount").textValue())).isNotNull();
            }
        });
    }

    private static void checkHtml(String html) {
        HtmlWellFormed.check(html);
        assertThat(html).doesNotContain("<script").contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                .contains("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;b&gt;");
    }

    /**
     * Well-formed enough: every tag is a known shape, opened and closed in order (void elements
     * and self-closed SVG elements aside), text holds no raw {@code <}, {@code >} or stray
     * {@code &}, attribute values are quoted, and no control character appears.
     */
    static final class HtmlWellFormed {
        private static final Pattern TAG = Pattern.compile("<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:=\"[^\"<>]*\")?)*)\\s*(/?)>");
        private static final Pattern ENTITY = Pattern.compile("&(?:lt|gt|amp|quot|#39|#[0-9]+|#x[0-9a-fA-F]+);");
        private static final Set<String> VOID = Set.of("meta", "br", "hr", "img", "input", "link", "col");

        static void check(String html) {
            assertThat(html).startsWith("<!DOCTYPE html>");
            for (int i = 0; i < html.length(); i++) {
                char c = html.charAt(i);
                assertThat(c < 0x20 && c != '\t' && c != '\n' && c != '\r' || (c >= 0x7f && c <= 0x9f))
                        .as("control character U+%04X at %d", (int) c, i).isFalse();
            }
            Deque<String> open = new ArrayDeque<>();
            int at = "<!DOCTYPE html>".length();
            while (at < html.length()) {
                int lt = html.indexOf('<', at);
                String text = html.substring(at, lt < 0 ? html.length() : lt);
                checkText(text, at);
                if (lt < 0) {
                    break;
                }
                Matcher m = TAG.matcher(html).region(lt, html.length());
                assertThat(m.lookingAt()).as("a tag at %d: %s", lt, abbreviate(html.substring(lt))).isTrue();
                String name = m.group(2).toLowerCase();
                if (m.group(1).equals("/")) {
                    assertThat(open.peek()).as("</%s> at %d closes the open element", name, lt).isEqualTo(name);
                    open.pop();
                } else if (!m.group(4).equals("/") && !VOID.contains(name)) {
                    open.push(name);
                }
                at = m.end();
            }
            assertThat(open).as("elements left open").isEmpty();
        }

        private static void checkText(String text, int at) {
            assertThat(text).as("text at %d", at).doesNotContain(">");
            int amp = text.indexOf('&');
            while (amp >= 0) {
                assertThat(ENTITY.matcher(text).region(amp, text.length()).lookingAt())
                        .as("an entity at %d: %s", at + amp, abbreviate(text.substring(amp))).isTrue();
                amp = text.indexOf('&', amp + 1);
            }
        }
    }

    private static String json(String text) {
        try {
            return Json.MAPPER.writeValueAsString(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
