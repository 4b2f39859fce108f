package dev.mercuryobridge.ingest;

import dev.mercuryobridge.ingest.StateMachine.Current;
import dev.mercuryobridge.ingest.StateMachine.Decision;
import dev.mercuryobridge.ingest.StateMachine.Reason;
import dev.mercuryobridge.ingest.StateMachine.Report;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class StateMachineTest {

    private static final long T0 = 1_694_071_900L;

    /** What the write path stores after applying a decision, so sequences can be chained. */
    private static Current stored(String type, String status, long ts, int sequence) {
        return new Current(type, status, ts, TransactionStatuses.isFinal(type, status), sequence, false);
    }

    /** A state whose status an API read set; {@code lastCallbackTs} is Mercuryo's time of the last callback. */
    private static Current fromApi(String type, String status, Long lastCallbackTs, int sequence) {
        return new Current(type, status, lastCallbackTs, TransactionStatuses.isFinal(type, status), sequence, true);
    }

    private static Report apiRead(String type, String status) {
        return new Report(type, status, null);
    }

    @Test
    void an_api_read_of_a_further_status_advances_by_rank_whatever_the_clocks_say() {
        Decision decision = StateMachine.decide(stored("sell", "new", T0 + 1_000_000, 1), apiRead("sell", "pending"));

        assertThat(decision).isEqualTo(new Decision.Advance("new", 2, false, TransactionStatuses.rank("sell", "pending")));
    }

    @Test
    void an_api_read_of_the_status_we_hold_changes_nothing_and_is_no_missed_callback() {
        assertThat(StateMachine.decide(stored("sell", "pending", T0, 2), apiRead("sell", "pending")))
                .isEqualTo(new Decision.Ignore(Reason.SAME_STATUS));
    }

    @Test
    void an_api_read_of_an_earlier_status_is_never_applied() {
        assertThat(StateMachine.decide(stored("sell", "pending", T0, 2), apiRead("sell", "new")))
                .isEqualTo(new Decision.Ignore(Reason.BEHIND));
    }

    @Test
    void an_api_read_of_a_different_final_status_after_a_final_one_is_a_conflict() {
        assertThat(StateMachine.decide(stored("sell", "succeeded", T0, 3), apiRead("sell", "failed")))
                .isEqualTo(new Decision.Conflict("succeeded", "failed"));
    }

    @Test
    void a_real_callback_stamped_before_our_api_read_still_advances_the_state() {
        // We had new@T0 from a callback; the reconciler read pending (no Mercuryo time). Mercuryo's
        // succeeded callback is stamped T0+5, earlier than our read: it must apply.
        Current afterRead = fromApi("sell", "pending", T0, 2);

        Decision decision = StateMachine.decide(afterRead, new Report("sell", "succeeded", T0 + 5));

        assertThat(decision).isEqualTo(new Decision.Advance("pending", 3, true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void mercuryos_callback_of_the_status_the_api_showed_refreshes_without_a_transition() {
        assertThat(StateMachine.decide(fromApi("sell", "pending", T0, 2), new Report("sell", "pending", T0 + 5)))
                .isEqualTo(new Decision.Refresh());
        assertThat(StateMachine.decide(fromApi("sell", "succeeded", T0, 2), new Report("sell", "succeeded", T0 + 5)))
                .isEqualTo(new Decision.Refresh());
    }

    @Test
    void a_callback_below_the_status_the_api_showed_is_stale() {
        assertThat(StateMachine.decide(fromApi("sell", "pending", T0, 2), new Report("sell", "new", T0 + 5)))
                .isEqualTo(new Decision.Ignore(Reason.STALE));
    }

    @Test
    void a_callback_older_than_the_last_callback_stays_stale_after_an_api_read() {
        assertThat(StateMachine.decide(fromApi("sell", "pending", T0 + 10, 2), new Report("sell", "succeeded", T0)))
                .isEqualTo(new Decision.Ignore(Reason.STALE));
    }

    @Test
    void a_state_created_by_an_api_read_takes_any_callback_at_or_above_its_rank() {
        Current created = fromApi("sell", "pending", null, 1);

        assertThat(StateMachine.decide(created, new Report("sell", "pending", T0))).isEqualTo(new Decision.Refresh());
        assertThat(StateMachine.decide(created, new Report("sell", "failed", T0)))
                .isEqualTo(new Decision.Advance("pending", 2, true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void in_order_new_pending_paid_creates_then_advances_with_sequences_2_and_3() {
        Decision first = StateMachine.decide(null, new Report("buy", "new", T0));
        assertThat(first).isEqualTo(new Decision.Create(false, TransactionStatuses.rank("buy", "new")));

        Decision second = StateMachine.decide(stored("buy", "new", T0, 1), new Report("buy", "pending", T0 + 10));
        assertThat(second).isEqualTo(new Decision.Advance("new", 2, false, TransactionStatuses.rank("buy", "pending")));

        Decision third = StateMachine.decide(stored("buy", "pending", T0 + 10, 2), new Report("buy", "paid", T0 + 20));
        assertThat(third).isEqualTo(new Decision.Advance("pending", 3, true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void first_report_already_final_creates_a_final_state() {
        Decision decision = StateMachine.decide(null, new Report("buy", "paid", T0));

        assertThat(decision).isEqualTo(new Decision.Create(true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void reordered_non_final_report_with_an_older_timestamp_is_stale() {
        Current pending = stored("buy", "pending", T0 + 10, 2);

        Decision decision = StateMachine.decide(pending, new Report("buy", "new", T0));

        assertThat(decision).isEqualTo(new Decision.Ignore(Reason.STALE));
    }

    @Test
    void reordered_pending_after_paid_with_an_older_timestamp_changes_nothing() {
        Decision create = StateMachine.decide(null, new Report("buy", "paid", T0 + 20));
        assertThat(create).isEqualTo(new Decision.Create(true, TransactionStatuses.FINAL_RANK));

        Decision late = StateMachine.decide(stored("buy", "paid", T0 + 20, 1), new Report("buy", "pending", T0 + 10));

        // A final state is checked before timestamps, so the reason is ALREADY_FINAL, not STALE.
        assertThat(late).isEqualTo(new Decision.Ignore(Reason.ALREADY_FINAL));
    }

    @Test
    void final_status_never_regresses_even_to_a_newer_non_final_report() {
        Current paid = stored("buy", "paid", T0 + 20, 3);

        Decision decision = StateMachine.decide(paid, new Report("buy", "pending", T0 + 3_600));

        assertThat(decision).isEqualTo(new Decision.Ignore(Reason.ALREADY_FINAL));
    }

    @Test
    void final_status_never_regresses_to_an_unknown_status() {
        Current paid = stored("buy", "paid", T0 + 20, 3);

        Decision decision = StateMachine.decide(paid, new Report("buy", "refund_requested", T0 + 3_600));

        assertThat(decision).isEqualTo(new Decision.Ignore(Reason.ALREADY_FINAL));
    }

    @Test
    void replayed_old_callback_is_stale() {
        Current scheduled = stored("buy", "order_scheduled", T0 + 20, 3);

        Decision replay = StateMachine.decide(scheduled, new Report("buy", "pending", T0 + 10));

        assertThat(replay).isEqualTo(new Decision.Ignore(Reason.STALE));
    }

    @Test
    void replayed_older_report_of_the_same_status_is_stale() {
        Current pending = stored("buy", "pending", T0 + 10, 2);

        Decision replay = StateMachine.decide(pending, new Report("buy", "pending", T0 + 5));

        assertThat(replay).isEqualTo(new Decision.Ignore(Reason.STALE));
    }

    @Test
    void exact_replay_of_the_stored_non_final_report_changes_nothing() {
        Current pending = stored("buy", "pending", T0 + 10, 2);

        Decision replay = StateMachine.decide(pending, new Report("buy", "pending", T0 + 10));

        assertThat(replay).isEqualTo(new Decision.Ignore(Reason.SAME_POSITION));
    }

    @Test
    void same_timestamp_higher_rank_wins() {
        Current stillNew = stored("buy", "new", T0, 1);

        Decision decision = StateMachine.decide(stillNew, new Report("buy", "pending", T0));

        assertThat(decision).isEqualTo(new Decision.Advance("new", 2, false, TransactionStatuses.rank("buy", "pending")));
    }

    @Test
    void same_timestamp_lower_rank_is_stale() {
        Current pending = stored("buy", "pending", T0, 2);

        Decision decision = StateMachine.decide(pending, new Report("buy", "new", T0));

        assertThat(decision).isEqualTo(new Decision.Ignore(Reason.STALE));
    }

    @Test
    void same_timestamp_final_beats_non_final() {
        Current pending = stored("buy", "pending", T0, 2);

        Decision decision = StateMachine.decide(pending, new Report("buy", "paid", T0));

        assertThat(decision).isEqualTo(new Decision.Advance("pending", 3, true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void same_status_with_a_newer_timestamp_refreshes() {
        Current pending = stored("buy", "pending", T0 + 10, 2);

        Decision decision = StateMachine.decide(pending, new Report("buy", "pending", T0 + 30));

        assertThat(decision).isEqualTo(new Decision.Refresh());
    }

    @Test
    void second_different_final_status_is_a_conflict() {
        Current paid = stored("buy", "paid", T0 + 20, 3);

        Decision decision = StateMachine.decide(paid, new Report("buy", "cancelled", T0 + 30));

        assertThat(decision).isEqualTo(new Decision.Conflict("paid", "cancelled"));
    }

    @Test
    void second_different_final_status_with_an_older_timestamp_is_still_a_conflict() {
        Current paid = stored("buy", "paid", T0 + 20, 3);

        Decision decision = StateMachine.decide(paid, new Report("buy", "order_failed", T0));

        assertThat(decision).isEqualTo(new Decision.Conflict("paid", "order_failed"));
    }

    @Test
    void same_final_status_again_is_ignored() {
        Current paid = stored("buy", "paid", T0 + 20, 3);

        assertThat(StateMachine.decide(paid, new Report("buy", "paid", T0 + 20)))
                .isEqualTo(new Decision.Ignore(Reason.ALREADY_FINAL));
        assertThat(StateMachine.decide(paid, new Report("buy", "paid", T0 + 999)))
                .isEqualTo(new Decision.Ignore(Reason.ALREADY_FINAL));
    }

    @Test
    void unknown_status_is_accepted_as_non_final_and_a_later_final_still_applies() {
        Decision create = StateMachine.decide(null, new Report("buy", "awaiting_3ds", T0));
        assertThat(create).isEqualTo(new Decision.Create(false, TransactionStatuses.UNKNOWN_RANK));
        assertThat(TransactionStatuses.isKnown("buy", "awaiting_3ds")).isFalse();

        Decision paid = StateMachine.decide(stored("buy", "awaiting_3ds", T0, 1), new Report("buy", "paid", T0 + 10));

        assertThat(paid).isEqualTo(new Decision.Advance("awaiting_3ds", 2, true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void unknown_status_ranks_just_above_new_at_the_same_timestamp() {
        Decision decision = StateMachine.decide(stored("buy", "new", T0, 1), new Report("buy", "awaiting_3ds", T0));

        assertThat(decision).isEqualTo(new Decision.Advance("new", 2, false, TransactionStatuses.UNKNOWN_RANK));
    }

    @Test
    void stored_type_decides_the_table_when_the_report_has_none() {
        // "completed" is final for withdraw; the report carries no type, the stored state does.
        Decision decision = StateMachine.decide(stored("withdraw", "pending", T0, 2), new Report(null, "completed", T0 + 10));

        assertThat(decision).isEqualTo(new Decision.Advance("pending", 3, true, TransactionStatuses.FINAL_RANK));
    }

    /** The reference status table: every status per type, and whether it is final. */
    @ParameterizedTest(name = "{0} {1} final={2}")
    @CsvSource({
            "buy, new, false",
            "buy, pending, false",
            "buy, order_scheduled, false",
            "buy, descriptor_failed, false",
            "buy, failed_exchange, false",
            "buy, paid, true",
            "buy, order_failed, true",
            "buy, cancelled, true",
            "withdraw, new, false",
            "withdraw, pending, false",
            "withdraw, order_scheduled, false",
            "withdraw, completed, true",
            "withdraw, failed, true",
            "deposit, new, false",
            "deposit, pending, false",
            "deposit, completed, true",
            "deposit, succeeded, true",
            "deposit, failed, true",
            "sell, new, false",
            "sell, pending, false",
            "sell, succeeded, true",
            "sell, failed, true",
            "sell, cancelled, true",
    })
    void reference_status_table_is_classified_exactly(String type, String status, boolean isFinal) {
        assertThat(TransactionStatuses.isKnown(type, status)).isTrue();
        assertThat(TransactionStatuses.isFinal(type, status)).isEqualTo(isFinal);
        if (isFinal) {
            assertThat(TransactionStatuses.rank(type, status)).isEqualTo(TransactionStatuses.FINAL_RANK);
        } else {
            assertThat(TransactionStatuses.rank(type, status)).isLessThan(TransactionStatuses.FINAL_RANK);
        }
        assertThat(StateMachine.decide(null, new Report(type, status, T0)))
                .isEqualTo(new Decision.Create(isFinal, TransactionStatuses.rank(type, status)));
    }

    @ParameterizedTest(name = "{0} {1} is not in the table")
    @CsvSource({
            "buy, completed",
            "buy, succeeded",
            "withdraw, paid",
            "withdraw, cancelled",
            "deposit, paid",
            "deposit, order_scheduled",
            "sell, paid",
            "sell, completed",
    })
    void statuses_of_other_types_are_unknown_and_non_final(String type, String status) {
        assertThat(TransactionStatuses.isKnown(type, status)).isFalse();
        assertThat(TransactionStatuses.isFinal(type, status)).isFalse();
        assertThat(TransactionStatuses.rank(type, status)).isEqualTo(TransactionStatuses.UNKNOWN_RANK);
    }

    @Test
    void unknown_status_ranks_between_new_and_pending_and_pending_below_order_scheduled() {
        assertThat(TransactionStatuses.rank("buy", "new")).isLessThan(TransactionStatuses.UNKNOWN_RANK);
        assertThat(TransactionStatuses.UNKNOWN_RANK).isLessThan(TransactionStatuses.rank("buy", "pending"));
        assertThat(TransactionStatuses.rank("buy", "pending")).isLessThan(TransactionStatuses.rank("buy", "order_scheduled"));
        assertThat(TransactionStatuses.rank("withdraw", "pending")).isLessThan(TransactionStatuses.rank("withdraw", "order_scheduled"));
    }

    @ParameterizedTest(name = "fiat_deposit {0} final={1}")
    @CsvSource({
            "new, false",
            "pending, false",
            "completed, true",
            "succeeded, true",
            "failed, true",
    })
    void fiat_deposit_uses_the_deposit_table(String status, boolean isFinal) {
        assertThat(TransactionStatuses.isFinal("fiat_deposit", status))
                .isEqualTo(isFinal)
                .isEqualTo(TransactionStatuses.isFinal("deposit", status));
        assertThat(TransactionStatuses.rank("fiat_deposit", status)).isEqualTo(TransactionStatuses.rank("deposit", status));
    }

    @Test
    void fiat_deposit_does_not_borrow_buy_statuses() {
        assertThat(TransactionStatuses.isFinal("fiat_deposit", "paid")).isFalse();
        assertThat(TransactionStatuses.isKnown("fiat_deposit", "paid")).isFalse();
    }

    @ParameterizedTest(name = "type {0}")
    @ValueSource(strings = {"crypto_swap", "unheard_of"})
    void unknown_type_uses_the_union_of_all_tables(String type) {
        assertThat(TransactionStatuses.isFinal(type, "paid")).isTrue();
        assertThat(TransactionStatuses.isFinal(type, "completed")).isTrue();
        assertThat(TransactionStatuses.isFinal(type, "succeeded")).isTrue();
        assertThat(TransactionStatuses.isFinal(type, "cancelled")).isTrue();
        assertThat(TransactionStatuses.isFinal(type, "pending")).isFalse();
        assertThat(TransactionStatuses.isFinal(type, "awaiting_3ds")).isFalse();
        assertThat(StateMachine.decide(null, new Report(type, "paid", T0)))
                .isEqualTo(new Decision.Create(true, TransactionStatuses.FINAL_RANK));
        assertThat(StateMachine.decide(stored(type, "pending", T0, 2), new Report(type, "paid", T0 + 1)))
                .isEqualTo(new Decision.Advance("pending", 3, true, TransactionStatuses.FINAL_RANK));
    }

    @Test
    void missing_type_uses_the_union_of_all_tables() {
        assertThat(TransactionStatuses.isFinal(null, "paid")).isTrue();
        assertThat(TransactionStatuses.isFinal(null, "new")).isFalse();
        assertThat(StateMachine.decide(null, new Report(null, "paid", T0)))
                .isEqualTo(new Decision.Create(true, TransactionStatuses.FINAL_RANK));
    }
}
