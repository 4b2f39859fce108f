package dev.mercuryobridge.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mercuryobridge.json.Json;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The report's JSON Schema: what the JSON writer produces from rows of every kind (nulls and
 * negative amounts included) conforms, what the format does not allow is refused, and the OpenAPI
 * document describes the same report.
 */
class ReportSchemaTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");

    private static JsonNode written() throws Exception {
        Map<String, Long> counts = new LinkedHashMap<>();
        ReportModel.RESULTS.forEach(r -> counts.put(r, 0L));
        counts.put("matched", 1L);
        var out = new ByteArrayOutputStream();
        JsonReport sink = new JsonReport(out);
        sink.header(new ReportModel.Header(LocalDate.of(2026, 3, 1), LocalDate.of(2026, 3, 1), ZoneId.of("Europe/Berlin"),
                T, T.minusMillis(3), counts, 1, List.of(new ReportModel.ChartPoint(LocalDate.of(2026, 3, 1), 4, 0, 1))));
        sink.finding(new ReportModel.FindingLine(7, "balance_drift", "user-1", "90.00 EUR", null, "reconciler", T.minusSeconds(90), 90));
        sink.transaction(new ReportModel.TransactionLine("t1", null, null, null, null, null, null, null,
                new BigDecimal("-5.00"), "USD", new BigDecimal("0.00"), null, null, T, null, "unresolved", "callback", T));
        sink.card(new ReportModel.CardLine(null, "user-1", null, BigDecimal.ZERO, ReportModel.OpeningBasis.CALLBACKS_ONLY,
                BigDecimal.ZERO, new BigDecimal("5.00"), BigDecimal.ZERO, BigDecimal.ZERO, new BigDecimal("-5.00"), null, null,
                null, null, null, null, "API balance unknown",
                List.of(new ReportModel.MovementTotal("PURCHASE", "", "=1+2", 1, new BigDecimal("5.00"), new BigDecimal("-5.00")))));
        sink.daily(new ReportModel.DailyLine(LocalDate.of(2026, 3, 1), null, null, "pending", 1, null, null));
        sink.finish();
        return Json.MAPPER.readTree(out.toByteArray());
    }

    @Test
    void rows_of_every_kind_with_nulls_and_negative_amounts_conform() throws Exception {
        ReportSchema.assertValid(written());
    }

    @Test
    void a_report_without_any_row_conforms_with_every_section_present() throws Exception {
        var out = new ByteArrayOutputStream();
        JsonReport sink = new JsonReport(out);
        Map<String, Long> counts = new LinkedHashMap<>();
        ReportModel.RESULTS.forEach(r -> counts.put(r, 0L));
        sink.header(new ReportModel.Header(LocalDate.of(2026, 3, 1), LocalDate.of(2026, 3, 2), ZoneId.of("UTC"), T, T, counts, 0,
                List.of()));
        sink.finish();
        JsonNode report = Json.MAPPER.readTree(out.toByteArray());
        ReportSchema.assertValid(report);
        assertThat(report.get("open_findings")).isEmpty();
        assertThat(report.get("daily")).isEmpty();
    }

    private static void refused(String why, Consumer<ObjectNode> change) throws Exception {
        ObjectNode report = (ObjectNode) written();
        change.accept(report);
        assertThat(ReportSchema.violations(report)).as(why).isNotEmpty();
    }

    @Test
    void what_the_format_does_not_allow_is_refused() throws Exception {
        refused("no open findings section", r -> r.remove("open_findings"));
        refused("an amount as a JSON number", r -> ((ObjectNode) r.at("/transactions/0")).put("fiat_amount", -5.0));
        refused("an amount that is not a decimal", r -> ((ObjectNode) r.at("/cards/0")).put("closing_balance", "1e3"));
        refused("a field the format does not have", r -> ((ObjectNode) r.at("/cards/0")).put("drift", "0"));
        refused("an unknown opening basis", r -> ((ObjectNode) r.at("/cards/0")).put("opening_basis", "guess"));
        refused("an age as text", r -> ((ObjectNode) r.at("/open_findings/0")).put("age_seconds", "90"));
        refused("a time that is not a date-time", r -> ((ObjectNode) r.at("/open_findings/0")).put("open_since", "yesterday"));
        refused("a day that is not a date", r -> ((ObjectNode) r.at("/header/chart/0")).put("day", "2026-3-1"));
        refused("a result not in the list", r -> ((ObjectNode) r.at("/transactions/0")).put("result", "fine"));
        refused("a movement without its total", r -> ((ObjectNode) r.at("/cards/0/movements/0")).remove("effect_total"));
        refused("a result count missing", r -> ((ObjectNode) r.at("/header/counts_by_result")).remove("matched"));
        refused("a card without movements", r -> ((ObjectNode) r.at("/cards/0")).remove("movements"));
        refused("a finding as an object", r -> r.set("open_findings", Json.MAPPER.createObjectNode()));
        refused("a daily row with a negative count", r -> ((ObjectNode) ((ArrayNode) r.get("daily")).get(0)).put("count", -1));
    }

    @Test
    void the_openapi_document_describes_the_same_report() throws Exception {
        JsonNode schema;
        try (InputStream in = ReportSchemaTest.class.getResourceAsStream(ReportSchema.RESOURCE)) {
            schema = Json.MAPPER.readTree(in);
        }
        JsonNode openApi;
        try (InputStream in = ReportSchemaTest.class.getResourceAsStream("/openapi.json")) {
            openApi = Json.MAPPER.readTree(in);
        }
        ObjectNode expected = schema.deepCopy();
        expected.remove(List.of("$schema", "$id"));
        assertThat(openApi.at("/components/schemas/Report")).isEqualTo(expected);
    }
}
