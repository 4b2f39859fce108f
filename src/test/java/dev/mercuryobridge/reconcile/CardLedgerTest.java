package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The card money rules: one movement per lifecycle and per top-up, matching without ids, checkpoints. */
class CardLedgerTest {

    private static final Instant T0 = Instant.parse("2026-11-20T10:00:00Z");
    private final List<CardLedger.Event> events = new ArrayList<>();
    private Instant received = T0;

    private void purchase(String status, String amount, Instant timestamp) {
        event("card_transaction", """
                {"transaction":{"type":"PURCHASE","status":"%s","amount":"%s","currency":"EUR","timestamp":"%s"}}"""
                .formatted(status, amount, timestamp));
    }

    private void topUp(String sellRequestId, String fiatAmount, String balanceAfter) {
        event("crypto_top_up", """
                {"sell_request":{"id":"%s","status":"succeeded","fiat_amount":"%s","fee":"1.25"},
                 "card_balance":{"fiat_amount":"%s","fiat_currency":"EUR"}}""".formatted(sellRequestId, fiatAmount, balanceAfter));
    }

    private void event(String name, String body) {
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            received = received.plusSeconds(60);
            events.add(new CardLedger.Event(UUID.randomUUID(), name, json, received));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static CardLedger.Listed listed(String type, String status, String amount, Instant at) {
        return new CardLedger.Listed(type, status, new BigDecimal(amount), "EUR", at, null);
    }

    @Test
    void an_authorized_then_cleared_purchase_is_one_movement_counted_once() {
        topUp("s1", "100.00", "100.00");
        purchase("AUTHORIZED", "12.50", T0.plusSeconds(600));
        purchase("CLEARED", "12.50", T0.plusSeconds(600));

        CardLedger ledger = CardLedger.of(events);

        assertThat(ledger.movements()).hasSize(2);
        CardLedger.Comparison c = ledger.compare(List.of(
                listed("TOP_UP", "CLEARED", "100.00", T0.plusSeconds(30)),
                listed("PURCHASE", "CLEARED", "12.50", T0.plusSeconds(600))));
        assertThat(c.unseen()).isEmpty();
        assertThat(c.expectedBalance()).isEqualByComparingTo("87.50");
    }

    @Test
    void a_reversed_or_declined_purchase_moves_no_money() {
        purchase("AUTHORIZED", "20.00", T0.plusSeconds(100));
        purchase("REVERSED", "20.00", T0.plusSeconds(100));
        purchase("DECLINED", "99.00", T0.plusSeconds(200));

        CardLedger ledger = CardLedger.of(events);

        assertThat(ledger.movements()).hasSize(2);
        assertThat(ledger.expectedBalance()).isEqualByComparingTo("0");
    }

    @Test
    void events_of_a_lifecycle_arriving_in_reverse_order_still_end_at_the_furthest_status() {
        purchase("CLEARED", "5.00", T0.plusSeconds(100));
        purchase("AUTHORIZED", "5.00", T0.plusSeconds(100));

        assertThat(CardLedger.of(events).movements()).singleElement()
                .satisfies(m -> assertThat(m.status()).isEqualTo("CLEARED"));
    }

    @Test
    void a_top_up_is_one_credit_of_its_fiat_amount_per_sell_request_even_if_told_twice() {
        topUp("s1", "95.38", "95.38");
        topUp("s1", "95.38", "95.38");

        CardLedger ledger = CardLedger.of(events);

        assertThat(ledger.movements()).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo("TOP_UP");
            assertThat(m.amount()).isEqualByComparingTo("95.38");
            assertThat(m.effect()).isEqualByComparingTo("95.38");
        });
    }

    @Test
    void a_top_up_that_did_not_succeed_is_no_movement() {
        event("crypto_top_up", """
                {"sell_request":{"id":"s9","status":"failed","fiat_amount":"50.00"},"card_balance":{"fiat_amount":"0.00"}}""");

        assertThat(CardLedger.of(events).movements()).isEmpty();
    }

    @Test
    void a_listed_transaction_no_callback_reported_is_unseen() {
        purchase("CLEARED", "10.00", T0.plusSeconds(100));

        CardLedger.Comparison c = CardLedger.of(events).compare(List.of(
                listed("PURCHASE", "CLEARED", "10.00", T0.plusSeconds(100)),
                listed("PURCHASE", "CLEARED", "10.00", T0.plusSeconds(5_000))));

        assertThat(c.unseen()).extracting(CardLedger.Listed::describe)
                .containsExactly("PURCHASE 10.00 EUR at " + T0.plusSeconds(5_000));
    }

    @Test
    void list_items_are_matched_by_type_amount_currency_and_time_within_the_tolerance() {
        purchase("CLEARED", "10.00", T0);

        CardLedger ledger = CardLedger.of(events);

        assertThat(ledger.compare(List.of(listed("PURCHASE", "CLEARED", "10.0", T0.plus(CardLedger.MATCH_TOLERANCE))))
                .unseen()).isEmpty();
        assertThat(ledger.compare(List.of(listed("PURCHASE", "CLEARED", "10.00",
                T0.plus(CardLedger.MATCH_TOLERANCE).plus(Duration.ofSeconds(1))))).unseen()).hasSize(1);
        assertThat(ledger.compare(List.of(listed("REFUND", "CLEARED", "10.00", T0))).unseen()).hasSize(1);
        assertThat(ledger.compare(List.of(listed("PURCHASE", "CLEARED", "10.01", T0))).unseen()).hasSize(1);
    }

    @Test
    void the_latest_top_up_balance_is_a_checkpoint_that_absorbs_what_came_before_it() {
        // A purchase before the service listened is unknown to us; Mercuryo's balance after the
        // top-up already accounts for it, and only what follows the checkpoint is added.
        topUp("s1", "50.00", "80.00");
        purchase("CLEARED", "7.00", T0.plusSeconds(3_600));

        CardLedger.Comparison c = CardLedger.of(events).compare(List.of(
                listed("PURCHASE", "CLEARED", "20.00", T0.minusSeconds(86_400)),
                listed("TOP_UP", "CLEARED", "50.00", T0.plusSeconds(60)),
                listed("PURCHASE", "CLEARED", "7.00", T0.plusSeconds(3_600))));

        assertThat(c.checkpoint().reference()).isEqualTo("sell_request:s1");
        assertThat(c.expectedBalance()).isEqualByComparingTo("73.00");
        assertThat(c.unseen()).extracting(CardLedger.Listed::amount).containsExactly(new BigDecimal("20.00"));
    }

    @Test
    void without_a_checkpoint_the_expectation_is_the_sum_of_every_movement() {
        purchase("CLEARED", "7.00", T0.plusSeconds(3_600));
        event("card_transaction", """
                {"transaction":{"type":"REFUND","status":"CLEARED","amount":"2.00","currency":"EUR","timestamp":"%s"}}"""
                .formatted(T0.plusSeconds(7_200)));

        assertThat(CardLedger.of(events).expectedBalance()).isEqualByComparingTo("-5.00");
    }

    @Test
    void events_it_cannot_read_are_left_out_rather_than_guessed() {
        event("card_transaction", """
                {"transaction":{"type":"PURCHASE","status":"CLEARED","amount":"1e2147483647","currency":"EUR"}}""");
        event("card_transaction", """
                {"transaction":{"type":"PURCHASE","amount":"3.00"}}""");
        event("card_status", """
                {"status":"active"}""");

        assertThat(CardLedger.of(events).movements()).isEmpty();
    }
}
