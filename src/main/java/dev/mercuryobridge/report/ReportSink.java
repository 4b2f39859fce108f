package dev.mercuryobridge.report;

import java.io.IOException;

/**
 * Receives the report in order (header, open findings, transactions, cards, daily totals) and
 * writes it as it comes, so rows go from the database cursor to the output without being collected.
 */
interface ReportSink {
    void header(ReportModel.Header header) throws IOException;

    void finding(ReportModel.FindingLine line) throws IOException;

    void transaction(ReportModel.TransactionLine line) throws IOException;

    void card(ReportModel.CardLine line) throws IOException;

    void daily(ReportModel.DailyLine line) throws IOException;

    void finish() throws IOException;
}
