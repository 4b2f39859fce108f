package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.simulator.SimulatedApp;
import dev.mercuryobridge.testing.Callbacks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static org.assertj.core.api.Assertions.assertThat;

/** The sell-request and card checks, each against the simulator over real HTTP. */
class ReconcilerChecksTest {
    @RegisterExtension
    static final SimulatedApp f = SimulatedApp.perClass();



    private static List<String> open(String kind, String subject) {
        return f.app().dsl().select(FINDING.ACTUAL).from(FINDING)
                .where(FINDING.KIND.eq(kind)).and(FINDING.SUBJECT.eq(subject)).and(FINDING.RESOLVED_AT.isNull())
                .fetch(FINDING.ACTUAL);
    }

    @Test
    void sell_request_registered_on_the_admin_api_without_any_callback_is_found() throws Exception {
        CardUserRef user = f.sim().addUser("registered@sim.test");
        SellRequest request = f.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00400000"), new BigDecimal("95.38"));
        f.sim().setSellRequestStatus(request.id(), "succeeded");
        f.register(user);
        assertThat(f.app().adminJson("PUT", "/api/sell-requests/" + request.id(), "{\"user_uuid\":\"" + user.userUuid() + "\"}")
                .statusCode()).isEqualTo(200);

        JsonNode run = f.runReconciliation();

        var state = f.app().dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(request.id()));
        assertThat(state.getStatus()).isEqualTo("succeeded");
        assertThat(state.getLastDetectedBy()).isEqualTo("reconciler");
        assertThat(state.getUpdatedAtTs()).as("no Mercuryo time is invented").isNull();
        assertThat(state.getFiatAmount()).isEqualByComparingTo("95.38");
        var finding = f.app().dsl().fetchSingle(FINDING, FINDING.KIND.eq("missed_callback").and(FINDING.SUBJECT.eq(request.id())));
        assertThat(finding.getExpected()).isEqualTo("succeeded");
        assertThat(finding.getActual()).isNull();
        assertThat(finding.getRunId()).isEqualTo(run.get("id").asLong());
        assertThat(finding.getResolvedAt()).isNotNull();
        // The card id the API text documents on the status answer is learned.
        assertThat(f.get("/api/card-users/" + user.userUuid()).get("card_id").asText()).isEqualTo(user.cardId());
    }

    @Test
    void the_card_check_works_when_card_status_is_just_active_and_no_card_id_is_known() throws Exception {
        CardUserRef user = f.sim().addUser("nocardid@sim.test");
        f.register(user);   // registered by the operator: no event, so no card id anywhere
        Instant at = Events.recent(600);   // once: the run may start in the next second
        f.sim().postCardTransaction(user.email(),
                new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("30.06"), "EUR", "John Doe", at));

        JsonNode run = f.runReconciliation();

        assertThat(run.get("errors").asInt()).as(run.toString()).isZero();
        // cards/status answers {"status":"active"} only (the API text shows no card id): never needed.
        assertThat(f.sim().requestsTo(MercuryoSimulator.CARD_STATUS)).isEmpty();
        assertThat(open("unseen_card_transaction", user.userUuid())).containsExactly("TOP_UP 30.06 EUR at " + at);
        assertThat(open("balance_drift", user.userUuid())).containsExactly("30.06 EUR");
    }

    @Test
    void an_authorized_then_cleared_purchase_is_one_movement() throws Exception {
        CardUserRef user = f.sim().addUser("cleared@sim.test");
        f.register(user);
        topUp(user, "100.00");
        CardTransaction purchase = new CardTransaction("PURCHASE", "AUTHORIZED", new BigDecimal("12.50"), "EUR", "Lidl", Events.recent(300));
        f.sim().authorize(user.email(), purchase);
        f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, purchase, "AUTHORIZED"));
        f.sim().clear(user.email(), purchase);
        f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, purchase, "CLEARED"));

        f.runReconciliation();

        assertThat(f.sim().balance(user.email())).isEqualByComparingTo("87.50");
        assertThat(open("unseen_card_transaction", user.userUuid())).isEmpty();
        assertThat(open("balance_drift", user.userUuid())).isEmpty();
    }

    @Test
    void a_reversal_and_a_decline_move_no_money() throws Exception {
        CardUserRef user = f.sim().addUser("reversed@sim.test");
        f.register(user);
        topUp(user, "50.00");
        CardTransaction reversed = new CardTransaction("PURCHASE", "AUTHORIZED", new BigDecimal("20.00"), "EUR", "Uber", Events.recent(400));
        f.sim().authorize(user.email(), reversed);
        f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, reversed, "AUTHORIZED"));
        f.sim().reverse(user.email(), reversed);
        f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, reversed, "REVERSED"));
        CardTransaction declined = new CardTransaction("PURCHASE", "DECLINED", new BigDecimal("99.00"), "EUR", "Tesco", Events.recent(200));
        f.sim().decline(user.email(), declined);
        f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, declined, "DECLINED"));

        f.runReconciliation();

        assertThat(f.sim().balance(user.email())).isEqualByComparingTo("50.00");
        assertThat(open("unseen_card_transaction", user.userUuid())).isEmpty();
        assertThat(open("balance_drift", user.userUuid())).isEmpty();
    }

    @Test
    void only_the_authorization_heard_of_a_reversed_purchase_shows_as_drift() throws Exception {
        CardUserRef user = f.sim().addUser("half@sim.test");
        f.register(user);
        topUp(user, "50.00");
        CardTransaction purchase = new CardTransaction("PURCHASE", "AUTHORIZED", new BigDecimal("20.00"), "EUR", "Uber", Events.recent(400));
        f.sim().authorize(user.email(), purchase);
        f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, purchase, "AUTHORIZED"));
        f.sim().reverse(user.email(), purchase);   // the REVERSED callback never comes

        f.runReconciliation();

        assertThat(open("unseen_card_transaction", user.userUuid())).isEmpty();
        assertThat(f.app().dsl().fetchSingle(FINDING, FINDING.KIND.eq("balance_drift").and(FINDING.SUBJECT.eq(user.userUuid())))
                .getExpected()).isEqualTo("30.00 EUR");
    }

    @Test
    void a_top_up_is_matched_through_its_sell_request_and_its_card_balance_is_a_checkpoint() throws Exception {
        CardUserRef user = f.sim().addUser("checkpoint@sim.test");
        f.register(user);
        // Before the service listened: a top-up and a purchase no callback told us about.
        f.sim().postCardTransaction(user.email(),
                new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("40.00"), "EUR", "Mercuryo", Events.recent(86_400)));
        f.sim().postCardTransaction(user.email(),
                new CardTransaction("PURCHASE", "CLEARED", new BigDecimal("15.00"), "EUR", "Shop", Events.recent(80_000)));
        topUp(user, "25.00");   // balance after: 50.00, as the crypto_top_up event says

        f.runReconciliation();

        assertThat(open("unseen_card_transaction", user.userUuid())).hasSize(2);
        assertThat(open("balance_drift", user.userUuid())).as("the checkpoint explains the balance").isEmpty();
    }

    @Test
    void a_thousand_card_transactions_over_pages_of_fifty_are_all_read_and_a_balance_drift_is_found() throws Exception {
        CardUserRef user = f.sim().addUser("pages@sim.test");
        f.register(user);
        List<CardTransaction> items = new ArrayList<>();
        Instant t0 = Events.recent(10_000);
        for (int i = 0; i < 1_000; i++) {
            boolean refund = i % 2 == 0;
            items.add(new CardTransaction(refund ? "REFUND" : "PURCHASE", "CLEARED",
                    new BigDecimal(refund ? "10.00" : "5.00"), "EUR", "Shop " + i, t0.plusSeconds(i)));
        }
        f.sim().addCardTransactions(user.email(), items);
        for (CardTransaction t : items) {
            f.post(Callbacks.SPEND_CARD_PATH, Events.cardTransaction(user, t, "CLEARED"));
        }
        // 500 x 10.00 in, 500 x 5.00 out: the callbacks imply 2500.00; Mercuryo says 2499.50.
        f.sim().setBalance(user.email(), new BigDecimal("2499.50"));
        f.sim().clearRequests();

        f.runReconciliation();

        String ip = user.ip();
        assertThat(f.sim().requestsTo(MercuryoSimulator.CARD_TRANSACTIONS).stream()
                .filter(r -> ip.equals(r.header("B2B-User-Ip")))).hasSize(20);
        assertThat(open("unseen_card_transaction", user.userUuid())).isEmpty();
        var drift = f.app().dsl().fetchSingle(FINDING, FINDING.KIND.eq("balance_drift").and(FINDING.SUBJECT.eq(user.userUuid())));
        assertThat(drift.getExpected()).isEqualTo("2500.00 EUR");
        assertThat(drift.getActual()).isEqualTo("2499.50 EUR");
        assertThat(drift.getResolvedAt()).isNull();

        // Mercuryo corrects the balance: the next run resolves the drift.
        f.sim().setBalance(user.email(), new BigDecimal("2500.00"));
        f.runReconciliation();
        assertThat(f.app().dsl().fetchSingle(FINDING, FINDING.ID.eq(drift.getId())).getResolvedAt()).isNotNull();
    }

    @Test
    void admin_registration_rejects_bad_input() {
        assertThat(f.app().adminJson("PUT", "/api/card-users/u1", "{\"email\":\"not-an-email\"}").statusCode()).isEqualTo(400);
        assertThat(f.app().adminJson("PUT", "/api/card-users/u1", "{\"email\":\"a@b.co\",\"ip\":\"example.com\"}").statusCode()).isEqualTo(400);
        assertThat(f.app().adminJson("PUT", "/api/card-users/u1", "not json").statusCode()).isEqualTo(400);
        assertThat(f.app().adminJson("PUT", "/api/sell-requests/s1", "{}").statusCode()).isEqualTo(400);
        assertThat(f.app().adminJson("PUT", "/api/sell-requests/..%2F..", "{\"user_uuid\":\"u1\"}").statusCode()).isIn(400, 404);
        assertThat(f.app().admin("GET", "/api/reconciliation/runs/999999").statusCode()).isEqualTo(404);
        assertThat(f.app().admin("GET", "/api/findings?open=maybe").statusCode()).isEqualTo(400);
        assertThat(f.app().admin("POST", "/api/reconciliation/runs", null, null).statusCode()).isEqualTo(401);
    }

    /** A top-up at Mercuryo (sell request succeeded, card credited) and its crypto_top_up callback. */
    private static void topUp(CardUserRef user, String fiat) {
        BigDecimal amount = new BigDecimal(fiat);
        SellRequest request = f.sim().createSellRequest(user.email(), "BTC", new BigDecimal("0.00400000"), amount);
        f.sim().setSellRequestStatus(request.id(), "succeeded");
        BigDecimal after = f.sim().postCardTransaction(user.email(),
                new CardTransaction("TOP_UP", "CLEARED", amount, "EUR", "Crypto top-up", Events.recent(900)));
        f.post(Callbacks.SPEND_CARD_PATH, Events.cryptoTopUp(user, request.id(), amount, after));
    }
}
