package dev.mercuryobridge.report;

import dev.mercuryobridge.http.HttpServers;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.io.IOException;

/** {@code GET /api/reports/reconciliation?from=&to=&format=csv|json|html[&zone=]}, streamed. */
public final class ReportRoutes {
    private final ReconciliationReport report;
    private final int maxDays;

    public ReportRoutes(ReconciliationReport report, int maxDays) {
        this.report = report;
        this.maxDays = maxDays;
    }

    public void register(RoutesConfig routes) {
        routes.exception(ReportRequest.InvalidReportRequest.class, (e, ctx) ->
                HttpServers.error(ctx, 400, "invalid_report_request", e.getMessage()));
        routes.get("/api/reports/reconciliation", this::report);
    }

    private void report(Context ctx) throws IOException {
        ReportRequest request = ReportRequest.parse(ctx.queryParam("from"), ctx.queryParam("to"),
                ctx.queryParam("format"), ctx.queryParam("zone"), maxDays);
        ctx.contentType(request.format().contentType);
        if (request.format() != ReportRequest.Format.HTML) {
            ctx.header("Content-Disposition", "attachment; filename=\"reconciliation-" + request.from() + "-" + request.to()
                    + "." + request.format().extension + "\"");
        }
        report.write(request, ctx.outputStream());
    }
}
