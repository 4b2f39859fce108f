package dev.mercuryobridge.report;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.mercuryobridge.json.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;

/**
 * {@code {"header":{...,"counts_by_result":{...},"chart":[...]},"open_findings":[...],"transactions":[...],
 * "cards":[{...,"movements":[...]}],"daily":[...]}}, written with a streaming generator: each row is
 * written when it comes off the cursor. Amounts are decimal strings; field names are those of the
 * CSV columns. {@code src/main/resources/schemas/report.v1.schema.json} describes it.
 */
final class JsonReport implements ReportSink {
    private static final java.util.List<String> SECTIONS = java.util.List.of("open_findings", "transactions", "cards", "daily");

    /** A movement total inside its card: the CSV's card_movement columns without the card's ids. */
    private static final java.util.List<String> MOVEMENT = CsvReport.CARD_MOVEMENT.subList(2, CsvReport.CARD_MOVEMENT.size());

    private final JsonGenerator json;
    /** Index in SECTIONS of the open array, -1 before the first. */
    private int open = -1;

    JsonReport(OutputStream out) throws IOException {
        this.json = Json.MAPPER.getFactory().createGenerator(out, JsonEncoding.UTF8);
        this.json.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
    }

    @Override
    public void header(ReportModel.Header h) throws IOException {
        json.writeStartObject();
        json.writeObjectFieldStart("header");
        json.writeStringField("period_from", h.from().toString());
        json.writeStringField("period_to", h.to().toString());
        json.writeStringField("time_zone", h.zone().getId());
        json.writeStringField("generated_at", h.generatedAt().toString());
        json.writeStringField("data_cutoff", h.dataCutoff().toString());
        json.writeNumberField("lines", h.lines());
        json.writeObjectFieldStart("counts_by_result");
        for (Map.Entry<String, Long> e : h.countsByResult().entrySet()) {
            json.writeNumberField(e.getKey(), e.getValue());
        }
        json.writeEndObject();
        json.writeNumberField("open_findings", h.openFindings());
        json.writeArrayFieldStart("chart");
        for (ReportModel.ChartPoint p : h.chart()) {
            record(CsvReport.CHART, p.day(), p.callbacksReceived(), p.missedCallbacksCaught(), p.openFindings());
        }
        json.writeEndArray();
        json.writeEndObject();
    }

    /** Opens the named array, closing the open one and writing any skipped ones as empty arrays. */
    private void section(String name) throws IOException {
        int target = SECTIONS.indexOf(name);
        while (open < target) {
            if (open >= 0) {
                json.writeEndArray();
            }
            open++;
            json.writeArrayFieldStart(SECTIONS.get(open));
        }
    }

    @Override
    public void finding(ReportModel.FindingLine l) throws IOException {
        section("open_findings");
        record(CsvReport.FINDING, l.findingId(), l.kind(), l.subject(), l.expected(), l.actual(), l.detectedBy(), l.openSince(),
                l.ageSeconds());
    }

    @Override
    public void transaction(ReportModel.TransactionLine l) throws IOException {
        section("transactions");
        record(CsvReport.TRANSACTION, l.transactionId(), l.merchantTransactionId(), l.transactionType(), l.paymentMethod(),
                l.statusFromCallbacks(), l.statusFromApi(), l.amount(), l.currency(), l.fiatAmount(), l.fiatCurrency(),
                l.fee(), l.partnerFee(), l.rate(), l.createdAt(), l.updatedAt(), l.result(), l.detectedBy(), l.detectedAt());
    }

    @Override
    public void card(ReportModel.CardLine l) throws IOException {
        section("cards");
        json.writeStartObject();
        fields(CsvReport.CARD, CsvReport.cardValues(l));
        json.writeArrayFieldStart("movements");
        for (ReportModel.MovementTotal m : l.movements()) {
            record(MOVEMENT, m.type(), m.status(), m.currency(), m.count(), m.amountTotal(), m.effectTotal());
        }
        json.writeEndArray();
        json.writeEndObject();
    }

    @Override
    public void daily(ReportModel.DailyLine l) throws IOException {
        section("daily");
        record(CsvReport.DAILY, l.day(), l.currency(), l.transactionType(), l.status(), l.count(), l.fiatAmountTotal(), l.feeTotal());
    }

    /** Counts stay numbers; everything else, amounts included, is a string (or null). */
    private void record(java.util.List<String> names, Object... values) throws IOException {
        json.writeStartObject();
        fields(names, values);
        json.writeEndObject();
    }

    private void fields(java.util.List<String> names, Object... values) throws IOException {
        for (int i = 0; i < names.size(); i++) {
            Object v = values[i];
            if (v == null) {
                json.writeNullField(names.get(i));
            } else if (v instanceof Long n) {
                json.writeNumberField(names.get(i), n);
            } else {
                json.writeStringField(names.get(i), CsvReport.text(v));
            }
        }
    }

    @Override
    public void finish() throws IOException {
        section("daily");   // sections with no rows are still present, as empty arrays
        json.writeEndArray();
        json.writeEndObject();
        json.flush();
    }
}
