package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.db.Jsonb;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.testing.Callbacks;
import org.jooq.JSONB;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Rows stored before the parser had its limits (a jsonb number PostgreSQL prints in 1,001 digits,
 * one with a huge negative exponent, nesting deeper than any reader allows), put in with SQL as an
 * old version would have left them: the reconciler's run and every report format still complete,
 * and whatever can be read of those rows still counts.
 */
class HostileStoredRowsTest {
    @RegisterExtension
    static final SimulatedApp f = SimulatedApp.perClass();
    private static CardUserRef user;

    @BeforeAll
    static void start() throws Exception {
        user = f.sim().addUser("hostile-rows@sim.test");
        f.register(user);
        topUp(new BigDecimal("100.00"));

        // A purchase Mercuryo lists, whose stored event has hostile numbers beside a sound amount.
        CardTransaction purchase = new CardTransaction("PURCHASE", "AUTHORIZED", new BigDecimal("12.50"), "EUR", "Lidl",
                Events.recent(300));
        f.sim().authorize(user.email(), purchase);
        f.sim().clear(user.email(), purchase);
        insertEvent("card_transaction", withHostileFields(Events.cardTransaction(user, purchase, "CLEARED")));
        // An amount past every limit: unreadable like any malformed amount, not counted.
        insertEvent("card_transaction", Events.cardTransaction(user, new CardTransaction("PURCHASE", "CLEARED",
                new BigDecimal("1.00"), "EUR", "Ghost", Events.recent(200)), "CLEARED").replace("\"amount\":\"1.00\"", "\"amount\":1e1000"));
        // Nested deeper than even the wide reading allows: the event is left out, with a log line.
        insertEvent("card_transaction", Events.cardTransaction(user, new CardTransaction("PURCHASE", "CLEARED",
                new BigDecimal("5.00"), "EUR", "Deep", Events.recent(100)), "CLEARED")
                .replaceFirst("\\{", "{\"deep\":" + "[".repeat(1_500) + "]".repeat(1_500) + ","));

        // A transaction whose stored event data holds the same kind of numbers.
        String id = "hostile-tx-1";
        long now = Instant.now().getEpochSecond();
        assertThat(f.app().postCallback(Callbacks.TRANSACTION_PATH, Callbacks.transaction(id, "buy", "new", now)
                .replace("\"created_at_ts\":1694071953", "\"created_at_ts\":" + now)).statusCode()).isEqualTo(200);
        f.app().dsl().execute("update transaction_event set data = ?::jsonb where transaction_id = ?",
                withHostileFields("{\"id\":\"" + id + "\",\"status\":\"new\"}"), id);
    }

    @Test
    void the_stored_rows_really_are_past_the_strict_reader() {
        JSONB data = f.app().dsl().fetchSingle("select data from spend_card_event where data -> 'deep' is not null").get(0, JSONB.class);
        assertThat(Jsonb.readStored(data)).isEmpty();
        JSONB huge = f.app().dsl().fetchSingle("select data from spend_card_event where data -> 'note' is not null").get(0, JSONB.class);
        assertThat(huge.data()).contains("1" + "0".repeat(1_000));
        assertThatThrownBy(() -> Jsonb.read(huge)).as("the strict reader").isInstanceOf(IllegalStateException.class);
        assertThat(Jsonb.readStored(huge)).get().extracting(n -> n.at("/transaction/amount").asText()).isEqualTo("12.50");
    }

    @Test
    void a_reconciliation_run_completes_and_counts_what_it_can_read() throws Exception {
        JsonNode run = f.runReconciliation();

        assertThat(run.get("errors").asInt()).as(run.toString()).isZero();
        assertThat(run.get("failure").isNull()).as(run.toString()).isTrue();
        // The purchase with hostile neighbours counted: callbacks and Mercuryo agree on 87.50.
        assertThat(f.sim().balance(user.email())).isEqualByComparingTo("87.50");
        assertThat(open("balance_drift")).isEmpty();
        assertThat(open("unseen_card_transaction")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"csv", "json", "html"})
    void every_report_format_is_written(String format) throws Exception {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        var response = f.app().admin("GET", "/api/reports/reconciliation?from=" + today.minusDays(2) + "&to=" + today.plusDays(1)
                + "&format=" + format);

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).contains(user.userUuid()).contains("hostile-tx-1");
        if (format.equals("json")) {
            JsonNode card = null;
            for (JsonNode c : Json.MAPPER.readTree(response.body()).get("cards")) {
                if (c.get("user_uuid").asText().equals(user.userUuid())) {
                    card = c;
                }
            }
            assertThat(card).isNotNull();
            assertThat(new BigDecimal(card.get("purchases").asText())).isEqualByComparingTo("12.50");
            // The hostile 1e1000 amount and the too-deep event are left out; the readable ones count.
            // (The closing balance depends on where the report places the top-up against the
            // purchase in time, which ReconciliationReportTest covers.)
            assertThat(new BigDecimal(card.get("top_ups").asText())).isEqualByComparingTo("100.00");
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Numbers PostgreSQL stores in jsonb and prints in full: 1,001 digits, 1,001 decimals, 150 digits. */
    private static String withHostileFields(String json) {
        return json.replaceFirst("\\{", "{\"note\":1e1000,\"tiny\":1e-1000,\"long\":" + "9".repeat(150) + ",");
    }

    private static void insertEvent(String name, String data) {
        f.app().dsl().execute("insert into spend_card_event (event_id, event_name, card_id, user_uuid, callback_id, data)"
                + " values (?, ?, ?, ?, 0, ?::jsonb)", UUID.randomUUID(), name, user.cardId(), user.userUuid(), data);
    }

    /** A top-up at Mercuryo and its crypto_top_up callback, received the ordinary way. */
    private static void topUp(BigDecimal amount) {
        SellRequest request = f.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00400000"), amount);
        f.sim().setSellRequestStatus(request.id(), "succeeded");
        BigDecimal after = f.sim().postCardTransaction(user.email(),
                new CardTransaction("TOP_UP", "CLEARED", amount, "EUR", "Crypto top-up", Events.recent(900)));
        assertThat(f.app().postCallback(Callbacks.SPEND_CARD_PATH, Events.cryptoTopUp(user, request.id(), amount, after))
                .statusCode()).isEqualTo(200);
    }

    private static java.util.List<String> open(String kind) {
        return f.app().dsl().select(FINDING.ACTUAL).from(FINDING)
                .where(FINDING.KIND.eq(kind)).and(FINDING.SUBJECT.eq(user.userUuid())).and(FINDING.RESOLVED_AT.isNull())
                .fetch(FINDING.ACTUAL);
    }
}
