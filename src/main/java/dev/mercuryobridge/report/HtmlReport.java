package dev.mercuryobridge.report;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * A self-contained HTML page: headline figures, a per-day chart drawn as inline SVG (callbacks
 * received, missed callbacks caught, open findings), then the tables, open findings first. No
 * script, no outside asset: it opens the same from a mail attachment as from the admin API.
 */
final class HtmlReport implements ReportSink {
    private static final int CHART_WIDTH = 960;
    private static final int CHART_HEIGHT = 260;
    private static final int PAD = 40;

    private static final List<String> CARD_COLUMNS = java.util.stream.Stream.concat(CsvReport.CARD.stream(),
            java.util.stream.Stream.of("movements_by_kind")).toList();

    /** The age is shown as a reader takes it in; its seconds are the cell's data-seconds. */
    private static final List<String> FINDING_COLUMNS = CsvReport.FINDING.stream()
            .map(c -> c.equals("age_seconds") ? "age" : c).toList();

    private final Writer out;
    private String table;

    HtmlReport(OutputStream stream) {
        this.out = new BufferedWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8));
    }

    @Override
    public void header(ReportModel.Header h) throws IOException {
        String period = h.from() + " to " + h.to() + " (" + h.zone().getId() + ")";
        out.write("""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8">
                <title>Mercuryo reconciliation %s</title>
                <style>
                body{font-family:system-ui,sans-serif;margin:2em;color:#222}
                .figures{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}
                .figure{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
                .figure .value{font-size:1.6em;font-weight:600}
                table{border-collapse:collapse;margin:1em 0;font-size:.85em}
                th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left}
                td.num{text-align:right;font-variant-numeric:tabular-nums}
                .legend span{margin-right:1.5em}
                </style></head><body>
                <h1>Mercuryo reconciliation report</h1>
                <p>Period <strong id="period">%s</strong>. Generated <span id="generated-at">%s</span>,
                data cut-off <span id="data-cutoff">%s</span>.</p>
                """.formatted(esc(period), esc(period), esc(h.generatedAt().toString()), esc(h.dataCutoff().toString())));
        out.write("<div class=\"figures\">\n");
        figure("lines", "transactions and sell requests", h.lines());
        for (Map.Entry<String, Long> e : h.countsByResult().entrySet()) {
            figure("result-" + e.getKey(), e.getKey().replace('_', ' '), e.getValue());
        }
        long caught = h.chart().stream().mapToLong(ReportModel.ChartPoint::missedCallbacksCaught).sum();
        long received = h.chart().stream().mapToLong(ReportModel.ChartPoint::callbacksReceived).sum();
        figure("callbacks-received", "callbacks received", received);
        figure("missed-callbacks-caught", "missed callbacks caught", caught);
        figure("open-findings", "open findings", h.openFindings());
        out.write("</div>\n");
        chart(h.chart());
        if (h.openFindings() == 0) {
            out.write("<h2>Open findings</h2>\n<p id=\"open-findings-none\">None open at the data cut-off.</p>\n");
        }
    }

    private void figure(String id, String label, long value) throws IOException {
        out.write("<div class=\"figure\"><div class=\"value\" id=\"" + id + "\">" + value + "</div><div>" + esc(label)
                + "</div></div>\n");
    }

    /** Grouped bars (received, caught) per day and a line for open findings, one scale each. */
    private void chart(List<ReportModel.ChartPoint> points) throws IOException {
        int n = Math.max(1, points.size());
        long maxBars = Math.max(1, points.stream().mapToLong(p -> Math.max(p.callbacksReceived(), p.missedCallbacksCaught())).max().orElse(1));
        long maxOpen = Math.max(1, points.stream().mapToLong(ReportModel.ChartPoint::openFindings).max().orElse(1));
        double slot = (CHART_WIDTH - 2.0 * PAD) / n;
        double bar = Math.max(1, slot * 0.4);
        int plot = CHART_HEIGHT - 2 * PAD;
        out.write("<h2>Per day</h2>\n<p class=\"legend\"><span style=\"color:#4a78c2\">&#9632; callbacks received</span>"
                + "<span style=\"color:#d9822b\">&#9632; missed callbacks caught</span>"
                + "<span style=\"color:#c23b3b\">&#9473; open findings (right scale)</span></p>\n");
        out.write("<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + CHART_WIDTH + "\" height=\"" + CHART_HEIGHT
                + "\" viewBox=\"0 0 " + CHART_WIDTH + " " + CHART_HEIGHT + "\" role=\"img\" aria-label=\"per-day chart\">\n");
        out.write("<line x1=\"" + PAD + "\" y1=\"" + (CHART_HEIGHT - PAD) + "\" x2=\"" + (CHART_WIDTH - PAD) + "\" y2=\""
                + (CHART_HEIGHT - PAD) + "\" stroke=\"#888\"/>\n");
        out.write("<text x=\"4\" y=\"" + (PAD - 8) + "\" font-size=\"11\">max " + maxBars + "</text>\n");
        out.write("<text x=\"" + (CHART_WIDTH - PAD - 60) + "\" y=\"" + (PAD - 8) + "\" font-size=\"11\">open max " + maxOpen + "</text>\n");
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < points.size(); i++) {
            ReportModel.ChartPoint p = points.get(i);
            double x = PAD + i * slot;
            double hr = (double) p.callbacksReceived() / maxBars * plot;
            double hc = (double) p.missedCallbacksCaught() / maxBars * plot;
            out.write(String.format(java.util.Locale.ROOT,
                    "<rect class=\"received\" data-day=\"%s\" data-value=\"%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a78c2\"><title>%s: %d callbacks received</title></rect>%n",
                    p.day(), p.callbacksReceived(), x + slot * 0.1, CHART_HEIGHT - PAD - hr, bar, hr, p.day(), p.callbacksReceived()));
            out.write(String.format(java.util.Locale.ROOT,
                    "<rect class=\"caught\" data-day=\"%s\" data-value=\"%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d9822b\"><title>%s: %d missed callbacks caught</title></rect>%n",
                    p.day(), p.missedCallbacksCaught(), x + slot * 0.1 + bar, CHART_HEIGHT - PAD - hc, bar, hc, p.day(), p.missedCallbacksCaught()));
            double yo = CHART_HEIGHT - PAD - (double) p.openFindings() / maxOpen * plot;
            line.append(String.format(java.util.Locale.ROOT, "%s%.1f,%.1f", line.isEmpty() ? "" : " ", x + slot / 2, yo));
            out.write(String.format(java.util.Locale.ROOT,
                    "<circle class=\"open\" data-day=\"%s\" data-value=\"%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#c23b3b\"><title>%s: %d open findings</title></circle>%n",
                    p.day(), p.openFindings(), x + slot / 2, yo, p.day(), p.openFindings()));
            if (points.size() <= 31 || i % Math.max(1, points.size() / 12) == 0) {
                out.write(String.format(java.util.Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">%s</text>%n",
                        x, CHART_HEIGHT - PAD + 14, p.day().toString().substring(5)));
            }
        }
        out.write("<polyline points=\"" + line + "\" fill=\"none\" stroke=\"#c23b3b\"/>\n</svg>\n");
        out.write("<table id=\"chart-table\"><tr><th>day</th><th>callbacks received</th><th>missed callbacks caught</th><th>open findings</th></tr>\n");
        for (ReportModel.ChartPoint p : points) {
            out.write("<tr><td>" + p.day() + "</td><td class=\"num\">" + p.callbacksReceived() + "</td><td class=\"num\">"
                    + p.missedCallbacksCaught() + "</td><td class=\"num\">" + p.openFindings() + "</td></tr>\n");
        }
        out.write("</table>\n");
    }

    private void table(String id, String title, List<String> columns) throws IOException {
        if (id.equals(table)) {
            return;
        }
        if (table != null) {
            out.write("</table>\n");
        }
        table = id;
        out.write("<h2>" + esc(title) + "</h2>\n<table id=\"" + id + "\"><tr>");
        for (String c : columns) {
            out.write("<th>" + esc(c.replace('_', ' ')) + "</th>");
        }
        out.write("</tr>\n");
    }

    private void row(Object... values) throws IOException {
        out.write("<tr>");
        cells(values);
        out.write("</tr>\n");
    }

    private void cells(Object... values) throws IOException {
        for (Object v : values) {
            boolean number = v instanceof Number;
            out.write(number ? "<td class=\"num\">" : "<td>");
            out.write(esc(CsvReport.text(v)));
            out.write("</td>");
        }
    }

    @Override
    public void finding(ReportModel.FindingLine l) throws IOException {
        table("findings", "Open findings", FINDING_COLUMNS);
        out.write("<tr>");
        cells(l.findingId(), l.kind(), l.subject(), l.expected(), l.actual(), l.detectedBy(), l.openSince());
        out.write("<td class=\"num\" data-seconds=\"" + l.ageSeconds() + "\">" + age(l.ageSeconds()) + "</td></tr>\n");
    }

    /** An age as a reader takes it in: "3 d 4 h", "4 h 5 min", "5 min 12 s", "12 s". */
    static String age(long seconds) {
        if (seconds < 0) {
            return "-" + age(-seconds);
        }
        long d = seconds / 86_400;
        long h = seconds % 86_400 / 3_600;
        long m = seconds % 3_600 / 60;
        long s = seconds % 60;
        return d > 0 ? d + " d " + h + " h" : h > 0 ? h + " h " + m + " min" : m > 0 ? m + " min " + s + " s" : s + " s";
    }

    @Override
    public void transaction(ReportModel.TransactionLine l) throws IOException {
        table("transactions", "Transactions and sell requests", CsvReport.TRANSACTION);
        row(l.transactionId(), l.merchantTransactionId(), l.transactionType(), l.paymentMethod(), l.statusFromCallbacks(),
                l.statusFromApi(), l.amount(), l.currency(), l.fiatAmount(), l.fiatCurrency(), l.fee(), l.partnerFee(),
                l.rate(), l.createdAt(), l.updatedAt(), l.result(), l.detectedBy(), l.detectedAt());
    }

    @Override
    public void card(ReportModel.CardLine l) throws IOException {
        table("cards", "Cards: the balance over the period, explained up to the API's", CARD_COLUMNS);
        out.write("<tr>");
        cells(CsvReport.cardValues(l));
        out.write("<td>");
        for (int i = 0; i < l.movements().size(); i++) {
            ReportModel.MovementTotal m = l.movements().get(i);
            out.write((i == 0 ? "" : "<br>") + esc(m.type() + " " + m.status() + " " + m.currency() + ": " + m.count() + " for "
                    + m.amountTotal().toPlainString() + ", balance " + (m.effectTotal().signum() > 0 ? "+" : "")
                    + m.effectTotal().toPlainString()));
        }
        out.write("</td></tr>\n");
    }

    @Override
    public void daily(ReportModel.DailyLine l) throws IOException {
        table("daily", "Per day and currency", CsvReport.DAILY);
        row(l.day(), l.currency(), l.transactionType(), l.status(), l.count(), l.fiatAmountTotal(), l.feeTotal());
    }

    @Override
    public void finish() throws IOException {
        if (table != null) {
            out.write("</table>\n");
        }
        out.write("</body></html>\n");
        out.flush();
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                // Control characters are parse errors in HTML (and not allowed in XML): shown as U+FFFD.
                default -> b.append(c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c >= 0x7f && c <= 0x9f ? '\uFFFD' : c);
            }
        }
        return b.toString();
    }
}
