package dev.mercuryobridge.reconcile;

import dev.mercuryobridge.finding.Finding;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.outbox.OutboxSignal;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Raises a run's findings, each in its own transaction with its announcement, and logs the new ones. */
final class RunFindings {
    private static final Logger log = LoggerFactory.getLogger(RunFindings.class);

    private final DSLContext dsl;
    private final Findings findings;
    private final OutboxSignal outboxSignal;

    RunFindings(DSLContext dsl, Findings findings, OutboxSignal outboxSignal) {
        this.dsl = dsl;
        this.findings = findings;
        this.outboxSignal = outboxSignal;
    }

    /** True when the finding was announced (new, or reopened); false when it was already open. */
    boolean raise(Finding finding) {
        Findings.Raised raised = dsl.transactionResult(c -> findings.raise(c.dsl(), finding));
        if (raised.announced()) {
            outboxSignal.committed(); // the announcement is in the outbox, committed
            log.atInfo().addKeyValue("run_id", finding.runId()).addKeyValue("finding_kind", finding.kind().dbValue())
                    .addKeyValue("subject", finding.subject())
                    .log("reconciliation run {}: {} finding {} on {}: expected {}, actual {}", finding.runId(),
                    raised == Findings.Raised.NEW ? "new" : "reopened", finding.kind().dbValue(), finding.subject(),
                    finding.expected(), finding.actual());
        }
        return raised.announced();
    }
}
