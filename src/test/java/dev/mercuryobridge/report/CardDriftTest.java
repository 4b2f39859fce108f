package dev.mercuryobridge.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.reconcile.CardLedger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** A card's balance over a period, explained from its movements, checkpoints and the API's balance. */
class CardDriftTest {
    private static final Instant START = Instant.parse("2026-03-01T00:00:00Z");
    private static final Instant END = Instant.parse("2026-03-03T00:00:00Z");

    private static CardLedger.Movement move(String type, String status, String amount, String at) {
        return new CardLedger.Movement(type, status, new BigDecimal(amount), "EUR", Instant.parse(at), null, UUID.randomUUID().toString());
    }

    private static CardLedger.Movement topUp(String amount, String balanceAfter, String at) {
        return new CardLedger.Movement("TOP_UP", "SUCCEEDED", new BigDecimal(amount), "EUR", Instant.parse(at),
                new BigDecimal(balanceAfter), "sell_request:" + UUID.randomUUID());
    }

    private static CardDrift.ApiBalance api(String amount, String currency, String at) {
        return new CardDrift.ApiBalance(new BigDecimal(amount), currency, Instant.parse(at));
    }

    private static ReportModel.CardLine line(List<CardLedger.Movement> movements, CardDrift.ApiBalance api) {
        return CardDrift.line("card1", "user1", movements, api, START, END);
    }

    @Test
    void without_a_checkpoint_the_opening_counts_the_callbacks_and_says_so() {
        ReportModel.CardLine l = line(List.of(
                move("TOP_UP", "CLEARED", "100.00", "2026-02-20T09:00:00Z"),
                move("PURCHASE", "CLEARED", "30.00", "2026-03-01T15:00:00Z"),
                move("PURCHASE", "DECLINED", "999.00", "2026-03-01T16:00:00Z"),
                move("REFUND", "CLEARED", "4.00", "2026-03-02T10:00:00Z"),
                move("TOP_UP", "CLEARED", "20.00", "2026-03-02T09:00:00Z")),
                api("85.00", "EUR", "2026-03-04T00:00:00Z"));

        assertThat(l.openingBalance()).isEqualByComparingTo("100.00");
        assertThat(l.openingBasis()).isEqualTo(ReportModel.OpeningBasis.CALLBACKS_ONLY);
        assertThat(l.topUps()).isEqualByComparingTo("20.00");
        assertThat(l.purchases()).isEqualByComparingTo("30.00");
        assertThat(l.otherActivity()).isEqualByComparingTo("4.00");
        assertThat(l.checkpointCorrections()).isEqualByComparingTo("0");
        assertThat(l.closingBalance()).isEqualByComparingTo("94.00");
        assertThat(l.changeToApiCheck()).isEqualByComparingTo("0");
        assertThat(l.expectedAtApiCheck()).isEqualByComparingTo("94.00");
        assertThat(l.unexplainedDifference()).isEqualByComparingTo("-9.00");
        assertThat(l.notes()).contains("no card_balance checkpoint before the period");
        // The declined purchase is listed, moving nothing; the kinds are sorted by type and status.
        assertThat(l.movements()).extracting(m -> m.type() + " " + m.status() + " " + m.count() + " " + m.amountTotal() + " " + m.effectTotal())
                .containsExactly("PURCHASE CLEARED 1 30.00 -30.00", "PURCHASE DECLINED 1 999.00 0", "REFUND CLEARED 1 4.00 4.00",
                        "TOP_UP CLEARED 1 20.00 20.00");
    }

    @Test
    void a_checkpoint_before_the_period_is_the_opening_basis() {
        ReportModel.CardLine l = line(List.of(
                move("PURCHASE", "CLEARED", "7.00", "2026-02-10T09:00:00Z"),         // before the checkpoint: in Mercuryo's figure
                topUp("50.00", "150.00", "2026-02-20T09:00:00Z"),                     // 100.00 was there unseen
                move("PURCHASE", "AUTHORIZED", "10.00", "2026-02-25T09:00:00Z"),
                move("PURCHASE", "CLEARED", "40.00", "2026-03-02T09:00:00Z")),
                api("100.00", "EUR", "2026-03-05T00:00:00Z"));

        assertThat(l.openingBasis()).isEqualTo(ReportModel.OpeningBasis.CHECKPOINT);
        assertThat(l.openingBalance()).isEqualByComparingTo("140.00");
        assertThat(l.closingBalance()).isEqualByComparingTo("100.00");
        assertThat(l.unexplainedDifference()).isEqualByComparingTo("0");
        assertThat(l.notes()).isNull();
    }

    @Test
    void a_checkpoint_in_the_period_shows_its_correction() {
        ReportModel.CardLine l = line(List.of(
                move("TOP_UP", "CLEARED", "100.00", "2026-02-20T09:00:00Z"),
                move("PURCHASE", "CLEARED", "30.00", "2026-03-01T10:00:00Z"),
                // Mercuryo says 125.00 after a 50.00 top-up: the callbacks imply 120.00, 5.00 came unseen.
                topUp("50.00", "125.00", "2026-03-01T12:00:00Z"),
                move("PURCHASE", "CLEARED", "25.00", "2026-03-02T12:00:00Z")),
                api("100.00", "EUR", "2026-03-05T00:00:00Z"));

        assertThat(l.openingBalance()).isEqualByComparingTo("100.00");
        assertThat(l.openingBasis()).isEqualTo(ReportModel.OpeningBasis.CALLBACKS_ONLY);
        assertThat(l.topUps()).isEqualByComparingTo("50.00");
        assertThat(l.purchases()).isEqualByComparingTo("55.00");
        assertThat(l.checkpointCorrections()).isEqualByComparingTo("5.00");
        assertThat(l.closingBalance()).isEqualByComparingTo("100.00");
        assertThat(l.unexplainedDifference()).isEqualByComparingTo("0");
    }

    @Test
    void an_api_check_before_the_period_end_is_reached_backwards() {
        ReportModel.CardLine l = line(List.of(
                move("TOP_UP", "CLEARED", "100.00", "2026-03-01T09:00:00Z"),
                move("PURCHASE", "CLEARED", "30.00", "2026-03-02T09:00:00Z")),
                api("100.00", "EUR", "2026-03-01T12:00:00Z"));

        assertThat(l.closingBalance()).isEqualByComparingTo("70.00");
        assertThat(l.changeToApiCheck()).isEqualByComparingTo("30.00");
        assertThat(l.expectedAtApiCheck()).isEqualByComparingTo("100.00");
        assertThat(l.unexplainedDifference()).isEqualByComparingTo("0");
    }

    @Test
    void what_is_not_known_is_null_and_said_not_invented() {
        List<CardLedger.Movement> movements = List.of(move("TOP_UP", "CLEARED", "10.00", "2026-03-01T09:00:00Z"));

        ReportModel.CardLine never = line(movements, null);
        assertThat(never.apiBalance()).isNull();
        assertThat(never.changeToApiCheck()).isNull();
        assertThat(never.expectedAtApiCheck()).isNull();
        assertThat(never.unexplainedDifference()).isNull();
        assertThat(never.notes()).contains("API balance unknown");

        ReportModel.CardLine usd = line(movements, api("10.00", "USD", "2026-03-05T00:00:00Z"));
        assertThat(usd.apiBalance()).isEqualByComparingTo("10.00");
        assertThat(usd.expectedAtApiCheck()).isEqualByComparingTo("10.00");
        assertThat(usd.unexplainedDifference()).isNull();
        assertThat(usd.notes()).contains("API balance is in USD, the callbacks in EUR");

        ReportModel.CardLine empty = line(List.of(), api("0.00", "EUR", "2026-03-05T00:00:00Z"));
        assertThat(empty.currency()).isEqualTo("EUR");
        assertThat(empty.closingBalance()).isEqualByComparingTo("0");
        assertThat(empty.unexplainedDifference()).isEqualByComparingTo("0");
        assertThat(empty.movements()).isEmpty();
    }

    // ---- the explanation adds up, and ends where the reconciler's expectation does -------------

    record Spec(boolean topUp, String type, String status, int cents, int balanceCents, int minute) {}

    @Provide
    Arbitrary<List<Spec>> histories() {
        Arbitrary<Spec> spec = Combinators.combine(Arbitraries.of(true, false, false),
                Arbitraries.of("PURCHASE", "TOP_UP", "REFUND", "FEE"),
                Arbitraries.of("AUTHORIZED", "CLEARED", "REVERSED", "DECLINED"),
                Arbitraries.integers().between(1, 50_000), Arbitraries.integers().between(0, 100_000),
                Arbitraries.integers().between(0, 5 * 24 * 60)).as(Spec::new);
        return spec.list().ofMaxSize(25);
    }

    @Property(tries = 300)
    void the_explanation_adds_up_and_ends_at_the_reconcilers_expected_balance(@ForAll("histories") List<Spec> specs,
                                                                             @ForAll boolean checkAfterEverything) {
        Instant base = START.minusSeconds(86_400);
        List<CardLedger.Event> events = new ArrayList<>();
        int n = 0;
        for (Spec s : specs) {
            Instant at = base.plusSeconds(s.minute() * 60L);
            String body = s.topUp()
                    ? """
                    {"sell_request":{"id":"s%d","status":"succeeded","fiat_amount":"%s"},\
                    "card_balance":{"fiat_amount":"%s","fiat_currency":"EUR"}}""".formatted(n, cents(s.cents()), cents(s.balanceCents()))
                    : """
                    {"transaction":{"type":"%s","status":"%s","amount":"%s","currency":"EUR","timestamp":"%s"}}"""
                    .formatted(s.type(), s.status(), cents(s.cents()), at);
            events.add(new CardLedger.Event(UUID.randomUUID(), s.topUp() ? "crypto_top_up" : "card_transaction", json(body), at));
            n++;
        }
        CardLedger ledger = CardLedger.of(events);
        Instant check = checkAfterEverything ? base.plusSeconds(6 * 86_400) : START.plusSeconds(3_600);
        ReportModel.CardLine l = CardDrift.line("c", "u", ledger.movements(), new CardDrift.ApiBalance(new BigDecimal("12.34"), "EUR", check),
                START, END);

        BigDecimal explained = l.openingBalance().add(l.topUps()).subtract(l.purchases()).add(l.otherActivity())
                .add(l.checkpointCorrections());
        assertThat(explained).isEqualByComparingTo(l.closingBalance());
        assertThat(l.closingBalance().add(l.changeToApiCheck())).isEqualByComparingTo(l.expectedAtApiCheck());
        assertThat(l.expectedAtApiCheck().add(l.unexplainedDifference())).isEqualByComparingTo("12.34");
        BigDecimal effects = l.movements().stream().map(ReportModel.MovementTotal::effectTotal).reduce(BigDecimal.ZERO, BigDecimal::add);
        assertThat(effects).isEqualByComparingTo(l.topUps().subtract(l.purchases()).add(l.otherActivity()));
        if (checkAfterEverything) {
            assertThat(l.expectedAtApiCheck()).isEqualByComparingTo(ledger.expectedBalance());
        }
    }

    private static String cents(int cents) {
        return BigDecimal.valueOf(cents, 2).toPlainString();
    }

    private static JsonNode json(String body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
