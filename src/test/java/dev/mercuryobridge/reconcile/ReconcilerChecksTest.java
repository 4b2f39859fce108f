package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.testing.Callbacks;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.FINDING;
import static dev.mercuryobridge.db.generated.Tables.TRANSACTION_STATE;
import static org.assertj.core.api.Assertions.assertThat;

/** Single checks of the reconciler, each against the simulator over real HTTP. */
class ReconcilerChecksTest {
    private static ReconcileFixture f;

    @BeforeAll
    static void start() {
        f = ReconcileFixture.start();
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @Test
    void sell_request_registered_on_the_admin_api_without_any_callback_is_found() throws Exception {
        CardUserRef user = f.sim.addUser("registered@sim.test");
        SellRequest request = f.sim.createSellRequest("registered@sim.test", "BTC", new BigDecimal("0.00400000"), new BigDecimal("95.38"));
        f.sim.setSellRequestStatus(request.id(), "succeeded");

        assertThat(f.app.adminJson("PUT", "/api/card-users/" + user.userUuid(), "{\"email\":\"registered@sim.test\",\"ip\":\"203.0.113.7\"}")
                .statusCode()).isEqualTo(200);
        var put = f.app.adminJson("PUT", "/api/sell-requests/" + request.id(), "{\"user_uuid\":\"" + user.userUuid() + "\"}");
        assertThat(put.statusCode()).isEqualTo(200);

        JsonNode run = f.runReconciliation();

        var state = f.app.dsl().fetchSingle(TRANSACTION_STATE, TRANSACTION_STATE.TRANSACTION_ID.eq(request.id()));
        assertThat(state.getStatus()).isEqualTo("succeeded");
        assertThat(state.getLastDetectedBy()).isEqualTo("reconciler");
        assertThat(state.getFiatAmount()).isEqualByComparingTo("95.38");
        var finding = f.app.dsl().fetchSingle(FINDING, FINDING.KIND.eq("missed_callback").and(FINDING.SUBJECT.eq(request.id())));
        assertThat(finding.getExpected()).isEqualTo("succeeded");
        assertThat(finding.getActual()).isNull();
        assertThat(finding.getRunId()).isEqualTo(run.get("id").asLong());
        assertThat(finding.getResolvedAt()).isNotNull();
        assertThat(f.get("/api/findings?kind=missed_callback&subject=" + request.id()).get("items")).hasSize(1);
    }

    @Test
    void a_thousand_card_transactions_over_pages_of_fifty_are_all_read_and_a_balance_drift_is_found() throws Exception {
        CardUserRef user = f.sim.addUser("pages@sim.test");
        List<CardTransaction> items = new ArrayList<>();
        Instant t0 = Instant.parse("2024-02-27T00:00:00Z");
        for (int i = 0; i < 1_000; i++) {
            boolean topUp = i % 2 == 0;
            items.add(new CardTransaction(topUp ? "TOP_UP" : "PURCHASE", "CLEARED",
                    new BigDecimal(topUp ? "10.00" : "5.00"), "EUR", topUp ? "Mercuryo" : "Shop " + i, t0.plusSeconds(i)));
        }
        f.sim.addCardTransactions("pages@sim.test", items);
        // Every movement was reported by a callback: nothing is unseen.
        for (CardTransaction t : items) {
            String event = """
                    {"event_id":"%s","event_name":"card_transaction","card_id":"%s","user":{"uuid4":"%s","email":"pages@sim.test"},\
                    "transaction":{"type":"%s","status":"CLEARED","amount":"%s","currency":"EUR","timestamp":"%s"}}"""
                    .formatted(UUID.randomUUID(), user.cardId(), user.userUuid(), t.type(), t.amount().toPlainString(), t.timestamp());
            assertThat(f.app.postCallback(Callbacks.SPEND_CARD_PATH, event).statusCode()).isEqualTo(200);
        }
        // 500 x 10.00 in, 500 x 5.00 out: the callbacks imply 2500.00; Mercuryo says 2499.50.
        f.sim.setBalance("pages@sim.test", new BigDecimal("2499.50"));
        f.sim.resetCounters();

        f.runReconciliation();

        // 20 pages for this card, one page for every other card user's card.
        int otherCards = f.app.dsl().fetchCount(dev.mercuryobridge.db.generated.Tables.CARD_USER) - 1;
        assertThat(f.sim.requests(MercuryoSimulator.CARD_TRANSACTIONS)).isEqualTo(20 + otherCards);
        assertThat(f.app.dsl().fetchCount(FINDING, FINDING.KIND.eq("unseen_card_transaction").and(FINDING.SUBJECT.eq(user.cardId()))))
                .isZero();
        var drift = f.app.dsl().fetchSingle(FINDING, FINDING.KIND.eq("balance_drift").and(FINDING.SUBJECT.eq(user.cardId())));
        assertThat(drift.getExpected()).isEqualTo("2500.00 EUR");
        assertThat(drift.getActual()).isEqualTo("2499.50 EUR");
        assertThat(drift.getResolvedAt()).isNull();

        // Mercuryo corrects the balance: the next run resolves the drift.
        f.sim.setBalance("pages@sim.test", new BigDecimal("2500.00"));
        f.runReconciliation();
        assertThat(f.app.dsl().fetchSingle(FINDING, FINDING.ID.eq(drift.getId())).getResolvedAt()).isNotNull();
    }

    @Test
    void card_transaction_missing_from_the_callbacks_is_an_unseen_transaction() throws Exception {
        CardUserRef user = f.sim.addUser("unseen@sim.test");
        f.app.adminJson("PUT", "/api/card-users/" + user.userUuid(), "{\"email\":\"unseen@sim.test\"}");
        f.sim.postCardTransaction("unseen@sim.test",
                new CardTransaction("TOP_UP", "CLEARED", new BigDecimal("30.06"), "EUR", "John Doe", Instant.parse("2024-02-27T13:37:15Z")));

        f.runReconciliation();

        var unseen = f.app.dsl().fetchSingle(FINDING, FINDING.KIND.eq("unseen_card_transaction").and(FINDING.SUBJECT.eq(user.cardId())));
        assertThat(unseen.getActual()).isEqualTo("TOP_UP 30.06 EUR at 2024-02-27T13:37:15Z");
        assertThat(f.app.dsl().fetchSingle(FINDING, FINDING.KIND.eq("balance_drift").and(FINDING.SUBJECT.eq(user.cardId()))).getActual())
                .isEqualTo("30.06 EUR");
    }

    @Test
    void admin_registration_rejects_bad_input() {
        assertThat(f.app.adminJson("PUT", "/api/card-users/u1", "{\"email\":\"not-an-email\"}").statusCode()).isEqualTo(400);
        assertThat(f.app.adminJson("PUT", "/api/card-users/u1", "{\"email\":\"a@b.co\",\"ip\":\"example.com\"}").statusCode()).isEqualTo(400);
        assertThat(f.app.adminJson("PUT", "/api/card-users/u1", "not json").statusCode()).isEqualTo(400);
        assertThat(f.app.adminJson("PUT", "/api/sell-requests/s1", "{}").statusCode()).isEqualTo(400);
        assertThat(f.app.adminJson("PUT", "/api/sell-requests/..%2F..", "{\"user_uuid\":\"u1\"}").statusCode()).isIn(400, 404);
        assertThat(f.app.admin("GET", "/api/reconciliation/runs/999999").statusCode()).isEqualTo(404);
        assertThat(f.app.admin("GET", "/api/findings?open=maybe").statusCode()).isEqualTo(400);
        assertThat(f.app.admin("POST", "/api/reconciliation/runs", null, null).statusCode()).isEqualTo(401);
    }
}
