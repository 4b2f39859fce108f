package dev.mercuryobridge.ingest;

/**
 * The rule that keeps a transaction's state moving forward only. Pure: it sees the stored state
 * and an incoming status report and says what to do; the write path carries it out.
 *
 * <p>Two kinds of report, with two clocks:
 * <ul>
 *   <li>A <b>callback</b> carries Mercuryo's {@code updated_at_ts}. It applies when it is newer
 *       than the last callback applied (a later time, or the same time and a higher status rank).
 *       Older reports (late retries, replays) change nothing.</li>
 *   <li>An <b>API read</b> by the reconciler carries no Mercuryo time, and our clock must not stand
 *       in for it. It advances the state by status rank only (a final status, or a higher rank),
 *       and leaves Mercuryo's time of the last callback as it was, so a later real callback is
 *       still judged against Mercuryo's own clock.</li>
 * </ul>
 * A status the API showed counts as already known: a callback of a lower rank is stale, one of
 * the same status refreshes the details (and brings Mercuryo's time) without a transition.
 * A final status never changes. The same final status again is a replay; a different final status
 * is a conflict to be investigated (a finding), never an overwrite.
 */
final class StateMachine {

    /**
     * What is stored for a transaction now.
     *
     * @param lastCallbackTs Mercuryo's {@code updated_at_ts} of the last callback applied, or null
     *                       when only the API has been read
     * @param statusFromApi  whether the current status was set by an API read (no callback has
     *                       reported it yet)
     */
    record Current(String type, String status, Long lastCallbackTs, boolean isFinal, int lastSequence,
                          boolean statusFromApi) {}

    /** A status report: from a callback ({@code updatedAtTs} set) or an API read ({@code updatedAtTs} null). */
    public record Report(String type, String status, Long updatedAtTs) {
        public boolean fromApi() {
            return updatedAtTs == null;
        }
    }

    sealed interface Decision {
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

    enum Reason {
        /** Older than the last callback, or behind a status the API already showed. */
        STALE,
        /** The transaction is final; the report is the same final status. */
        ALREADY_FINAL,
        /** Same time and status rank as the stored state. */
        SAME_POSITION,
        /** An API read showing the status we hold: nothing new, and not a missed callback. */
        SAME_STATUS,
        /** An API read showing an earlier status than we hold: never applied. */
        BEHIND
    }

    private StateMachine() {}

    static Decision decide(Current current, Report report) {
        String type = current != null && current.type() != null ? current.type() : report.type();
        boolean reportFinal = TransactionStatuses.isFinal(type, report.status());
        int reportRank = TransactionStatuses.rank(type, report.status());
        if (current == null) {
            return new Decision.Create(reportFinal, reportRank);
        }
        boolean sameStatus = report.status().equals(current.status());
        if (current.isFinal()) {
            if (reportFinal && !sameStatus) {
                return new Decision.Conflict(current.status(), report.status());
            }
            // Mercuryo's own callback confirming a final status we only read from its API brings
            // Mercuryo's time and details: it is accepted, without a second transition.
            if (sameStatus && current.statusFromApi() && !report.fromApi()) {
                return new Decision.Refresh();
            }
            return new Decision.Ignore(Reason.ALREADY_FINAL);
        }
        int currentRank = TransactionStatuses.rank(type, current.status());
        if (report.fromApi()) {
            if (sameStatus) {
                return new Decision.Ignore(Reason.SAME_STATUS);
            }
            if (!reportFinal && reportRank <= currentRank) {
                return new Decision.Ignore(Reason.BEHIND);
            }
            return new Decision.Advance(current.status(), current.lastSequence() + 1, reportFinal, reportRank);
        }
        long ts = report.updatedAtTs();
        Long last = current.lastCallbackTs();
        if (last != null && ts < last) {
            return new Decision.Ignore(Reason.STALE);
        }
        boolean newer;
        if (current.statusFromApi()) {
            // Judged against the status the API showed: a lower rank is from before our read.
            newer = reportFinal || reportRank >= currentRank;
            if (!newer) {
                return new Decision.Ignore(Reason.STALE);
            }
        } else {
            newer = last == null || ts > last || reportRank > currentRank;
            if (!newer) {
                return new Decision.Ignore(reportRank == currentRank ? Reason.SAME_POSITION : Reason.STALE);
            }
        }
        if (sameStatus) {
            return new Decision.Refresh();
        }
        return new Decision.Advance(current.status(), current.lastSequence() + 1, reportFinal, reportRank);
    }
}
