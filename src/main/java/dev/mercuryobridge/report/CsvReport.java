package dev.mercuryobridge.report;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * One RFC 4180 file with a {@code section} column: {@code summary} (metric, value),
 * {@code chart} (per day), {@code finding} (open findings), {@code transaction}, {@code card},
 * {@code card_movement} (a card's movements in the period by type, status and currency, right
 * after its card row), {@code daily}. The header row
 * names every column of every section; a row fills its own section's columns and leaves the
 * others empty. One file keeps the report streamable, also from the admin API.
 */
final class CsvReport implements ReportSink {
    static final List<String> SUMMARY = List.of("metric", "value");
    static final List<String> CHART = List.of("day", "callbacks_received", "missed_callbacks_caught", "open_findings");
    static final List<String> FINDING = List.of("finding_id", "kind", "subject", "expected", "actual", "detected_by",
            "open_since", "age_seconds");
    static final List<String> TRANSACTION = List.of("transaction_id", "merchant_transaction_id", "transaction_type",
            "payment_method", "status_from_callbacks", "status_from_api", "amount", "currency", "fiat_amount",
            "fiat_currency", "fee", "partner_fee", "rate", "created_at", "updated_at", "result", "detected_by", "detected_at");
    static final List<String> CARD = List.of("card_id", "user_uuid", "currency", "opening_balance", "opening_basis",
            "top_ups", "purchases", "other_activity", "checkpoint_corrections", "closing_balance", "api_balance",
            "api_balance_currency", "api_balance_checked_at", "change_to_api_check", "expected_at_api_check",
            "unexplained_difference", "notes");
    /** A card's movement totals; in JSON they sit inside the card, without the card's two ids. */
    static final List<String> CARD_MOVEMENT = List.of("card_id", "user_uuid", "movement_type", "movement_status", "currency",
            "count", "amount_total", "effect_total");
    static final List<String> DAILY = List.of("day", "currency", "transaction_type", "status", "count",
            "fiat_amount_total", "fee_total");
    static final List<String> COLUMNS = columns();

    private final CSVPrinter printer;

    CsvReport(OutputStream out) throws IOException {
        this.printer = new CSVPrinter(new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8)),
                CSVFormat.RFC4180.builder().setHeader(COLUMNS.toArray(String[]::new)).get());
    }

    private static List<String> columns() {
        LinkedHashSet<String> all = new LinkedHashSet<>();
        all.add("section");
        for (List<String> section : List.of(SUMMARY, CHART, FINDING, TRANSACTION, CARD, CARD_MOVEMENT, DAILY)) {
            all.addAll(section);
        }
        return List.copyOf(all);
    }

    @Override
    public void header(ReportModel.Header h) throws IOException {
        summary("period_from", h.from());
        summary("period_to", h.to());
        summary("time_zone", h.zone().getId());
        summary("generated_at", h.generatedAt());
        summary("data_cutoff", h.dataCutoff());
        summary("lines", h.lines());
        for (Map.Entry<String, Long> e : h.countsByResult().entrySet()) {
            summary("result_" + e.getKey(), e.getValue());
        }
        summary("open_findings", h.openFindings());
        for (ReportModel.ChartPoint p : h.chart()) {
            row("chart", CHART, p.day(), p.callbacksReceived(), p.missedCallbacksCaught(), p.openFindings());
        }
    }

    private void summary(String metric, Object value) throws IOException {
        row("summary", SUMMARY, metric, value);
    }

    @Override
    public void finding(ReportModel.FindingLine l) throws IOException {
        row("finding", FINDING, l.findingId(), l.kind(), l.subject(), l.expected(), l.actual(), l.detectedBy(), l.openSince(),
                l.ageSeconds());
    }

    @Override
    public void transaction(ReportModel.TransactionLine l) throws IOException {
        row("transaction", TRANSACTION, l.transactionId(), l.merchantTransactionId(), l.transactionType(), l.paymentMethod(),
                l.statusFromCallbacks(), l.statusFromApi(), l.amount(), l.currency(), l.fiatAmount(), l.fiatCurrency(),
                l.fee(), l.partnerFee(), l.rate(), l.createdAt(), l.updatedAt(), l.result(), l.detectedBy(), l.detectedAt());
    }

    @Override
    public void card(ReportModel.CardLine l) throws IOException {
        row("card", CARD, cardValues(l));
        for (ReportModel.MovementTotal m : l.movements()) {
            row("card_movement", CARD_MOVEMENT, l.cardId(), l.userUuid(), m.type(), m.status(), m.currency(), m.count(),
                    m.amountTotal(), m.effectTotal());
        }
    }

    /** A card line's values in the order of {@link #CARD}, for every format. */
    static Object[] cardValues(ReportModel.CardLine l) {
        return new Object[] {l.cardId(), l.userUuid(), l.currency(), l.openingBalance(), l.openingBasis().value(), l.topUps(),
                l.purchases(), l.otherActivity(), l.checkpointCorrections(), l.closingBalance(), l.apiBalance(),
                l.apiBalanceCurrency(), l.apiBalanceCheckedAt(), l.changeToApiCheck(), l.expectedAtApiCheck(),
                l.unexplainedDifference(), l.notes()};
    }

    @Override
    public void daily(ReportModel.DailyLine l) throws IOException {
        row("daily", DAILY, l.day(), l.currency(), l.transactionType(), l.status(), l.count(), l.fiatAmountTotal(), l.feeTotal());
    }

    private void row(String section, List<String> names, Object... values) throws IOException {
        String[] cells = new String[COLUMNS.size()];
        Arrays.fill(cells, "");
        cells[0] = section;
        for (int i = 0; i < names.size(); i++) {
            cells[COLUMNS.indexOf(names.get(i))] = cell(values[i]);
        }
        printer.printRecord((Object[]) cells);
    }

    /**
     * A cell as written: text that a spreadsheet would take for a formula (it starts with
     * {@code =}, {@code +}, {@code -}, {@code @}, a tab or a CR, as OWASP's CSV injection guidance
     * lists) gets a leading {@code '}; numbers, dates and times are written as they are, so an
     * amount of {@code -5.00} stays a number.
     */
    static String cell(Object value) {
        String text = text(value);
        return value instanceof CharSequence && !text.isEmpty() && FORMULA_START.indexOf(text.charAt(0)) >= 0
                ? "'" + text : text;
    }

    private static final String FORMULA_START = "=+-@\t\r";

    static String text(Object value) {
        return switch (value) {
            case null -> "";
            case BigDecimal d -> d.toPlainString();
            default -> value.toString();
        };
    }

    @Override
    public void finish() throws IOException {
        printer.flush();
    }

    static List<String> sectionColumns(String section) {
        return new ArrayList<>(switch (section) {
            case "summary" -> SUMMARY;
            case "chart" -> CHART;
            case "finding" -> FINDING;
            case "transaction" -> TRANSACTION;
            case "card" -> CARD;
            case "card_movement" -> CARD_MOVEMENT;
            case "daily" -> DAILY;
            default -> throw new IllegalArgumentException(section);
        });
    }
}
