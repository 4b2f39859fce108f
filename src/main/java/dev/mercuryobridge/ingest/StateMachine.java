package dev.mercuryobridge.ingest;

/**
 * The rule that keeps a transaction's state moving forward only. Pure: it sees the stored state
 * and an incoming status report and says what to do; the write path carries it out.
 *
 * <ul>
 *   <li>A final status never changes. The same final status again is a replay; a different final
 *       status is a conflict to be investigated (a finding), never an overwrite.</li>
 *   <li>Otherwise the report applies when it is newer: a later {@code updated_at_ts}, or the same
 *       timestamp and a higher status rank. Older reports (late retries, replays) change nothing.</li>
 *   <li>A newer report with the same status refreshes the stored details without a transition.</li>
 * </ul>
 */
public final class StateMachine {

    /** What is stored for a transaction now. */
    public record Current(String type, String status, long updatedAtTs, boolean isFinal, int lastSequence) {}

    /** A status report, from a callback or from the reconciler. */
    public record Report(String type, String status, long updatedAtTs) {}

    public sealed interface Decision {
        /** First report of this transaction: transition number 1 from no status. */
        record Create(boolean isFinal, int rank) implements Decision {}

        /** A status change: the next transition. */
        record Advance(String previousStatus, int sequence, boolean isFinal, int rank) implements Decision {}

        /** Same status, newer report: keep the newer details, no transition. */
        record Refresh() implements Decision {}

        /** Older than what is stored, or a replay of the final status: nothing changes. */
        record Ignore(Reason reason) implements Decision {}

        /** A second, different final status: kept as evidence and raised as a finding. */
        record Conflict(String storedFinal, String reportedFinal) implements Decision {}
    }

    public enum Reason { STALE, ALREADY_FINAL, SAME_POSITION }

    private StateMachine() {}

    public static Decision decide(Current current, Report report) {
        String type = current != null && current.type() != null ? current.type() : report.type();
        boolean reportFinal = TransactionStatuses.isFinal(type, report.status());
        int reportRank = TransactionStatuses.rank(type, report.status());
        if (current == null) {
            return new Decision.Create(reportFinal, reportRank);
        }
        if (current.isFinal()) {
            if (reportFinal && !report.status().equals(current.status())) {
                return new Decision.Conflict(current.status(), report.status());
            }
            return new Decision.Ignore(Reason.ALREADY_FINAL);
        }
        int byTime = Long.compare(report.updatedAtTs(), current.updatedAtTs());
        int byRank = Integer.compare(reportRank, TransactionStatuses.rank(type, current.status()));
        boolean newer = byTime > 0 || (byTime == 0 && byRank > 0);
        if (!newer) {
            return new Decision.Ignore(byTime == 0 && byRank == 0 ? Reason.SAME_POSITION : Reason.STALE);
        }
        if (report.status().equals(current.status())) {
            return new Decision.Refresh();
        }
        return new Decision.Advance(current.status(), current.lastSequence() + 1, reportFinal, reportRank);
    }
}
