package dev.mercuryobridge.reconcile;

import dev.mercuryobridge.finding.Finding;
import dev.mercuryobridge.finding.FindingKind;
import dev.mercuryobridge.finding.Findings;
import dev.mercuryobridge.mercuryo.CardBalance;
import dev.mercuryobridge.mercuryo.CardTransaction;
import dev.mercuryobridge.mercuryo.MercuryoClient;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static dev.mercuryobridge.db.generated.Tables.CARD_USER;

/**
 * Checks one card user's card against Mercuryo: every transaction Mercuryo lists
 * ({@code GET /sdk-partner/spend/cards/transactions}) must have been reported by a Spend Card
 * callback ({@code unseen_card_transaction} otherwise), and the balance
 * ({@code GET /sdk-partner/spend/cards/balance}) must equal what the callbacks imply
 * ({@code balance_drift} otherwise). The card endpoints need only the user's token: a card id is
 * used when known, never required. Card findings are about the user (subject = user uuid), whose
 * card account outlives a card replaced by a new one.
 */
final class CardCheck {
    private static final Logger log = LoggerFactory.getLogger(CardCheck.class);

    /** Detail of an unseen transaction: the list item as Mercuryo gave it. */
    record UnseenDetail(long runId, String cardId, String type, String status, String amount, String currency,
                        Instant timestamp, String counterpartyName) {}

    /** Detail of a drift: how the expectation was made. */
    record DriftDetail(long runId, String cardId, String checkpointSellRequest, String checkpointBalance, int movements,
                       int unseen) {}

    private final DSLContext dsl;
    private final RunFindings findings;
    private final MercuryoClient client;

    CardCheck(DSLContext dsl, RunFindings findings, MercuryoClient client) {
        this.dsl = dsl;
        this.findings = findings;
        this.client = client;
    }

    /** Returns the number of findings announced. */
    int check(long runId, Watchlist.Candidate candidate) {
        String subject = candidate.userUuid();
        List<CardTransaction> listed = client.cardTransactions(candidate.user());
        CardBalance balance = client.cardBalance(candidate.user());
        CardLedger ledger = CardLedger.of(events(candidate));
        List<CardLedger.Listed> items = new ArrayList<>();
        for (CardTransaction t : listed) {
            items.add(new CardLedger.Listed(t.type(), t.status(), t.amount(), t.currency(), t.timestamp(), t.counterpartyName()));
        }
        CardLedger.Comparison comparison = ledger.compare(items);

        int announced = 0;
        Set<String> unseen = new HashSet<>();
        for (CardLedger.Listed item : comparison.unseen()) {
            String described = item.describe();
            unseen.add(described);
            if (findings.raise(Finding.byRun(FindingKind.UNSEEN_CARD_TRANSACTION, subject, null, described,
                    new UnseenDetail(runId, candidate.cardId(), item.type(), item.status(), item.amount().toPlainString(),
                            item.currency(), item.timestamp(), item.counterpartyName()), runId))) {
                announced++;
            }
        }
        Findings.resolveExcept(dsl, FindingKind.UNSEEN_CARD_TRANSACTION, subject, unseen);

        BigDecimal api = balance.fiatAmount();
        BigDecimal expected = comparison.expectedBalance();
        if (api.compareTo(expected) != 0) {
            // Shown with the API's scale: 2500.00 EUR next to 2499.50 EUR, not 2500 EUR.
            String actual = api.toPlainString() + " " + balance.fiatCurrency();
            String expectedText = expected.setScale(Math.max(api.scale(), expected.scale()), RoundingMode.UNNECESSARY)
                    .toPlainString() + " " + balance.fiatCurrency();
            CardLedger.Movement cp = comparison.checkpoint();
            if (findings.raise(Finding.byRun(FindingKind.BALANCE_DRIFT, subject, expectedText, actual,
                    new DriftDetail(runId, candidate.cardId(), cp == null ? null : cp.reference(),
                            cp == null ? null : cp.balanceAfter().toPlainString(), ledger.movements().size(), unseen.size()),
                    runId))) {
                announced++;
            }
            Findings.resolveExcept(dsl, FindingKind.BALANCE_DRIFT, subject, Set.of(actual));
        } else {
            Findings.resolveExcept(dsl, FindingKind.BALANCE_DRIFT, subject, Set.of());
        }
        remember(candidate, balance);
        return announced;
    }

    /** The user's Spend Card events: by user uuid, or by a card of theirs. */
    private List<CardLedger.Event> events(Watchlist.Candidate candidate) {
        return dsl.resultQuery("""
                        select e.event_id, e.event_name, e.data, e.recorded_at
                          from spend_card_event e
                         where e.user_uuid = ?
                            or e.card_id in (select card_id from spend_card_event where user_uuid = ? and card_id is not null
                                             union select card_id from card_user where user_uuid = ? and card_id is not null)""",
                        candidate.userUuid(), candidate.userUuid(), candidate.userUuid())
                .fetch(r -> CardLedger.Event.stored(r.get(0, UUID.class), r.get(1, String.class),
                        r.get(2, org.jooq.JSONB.class), r.get(3, Instant.class)));
    }

    /** What Mercuryo said, for the report; the user becomes a stored card user if only their activity knew them. */
    private void remember(Watchlist.Candidate candidate, CardBalance balance) {
        dsl.insertInto(CARD_USER)
                .set(CARD_USER.USER_UUID, candidate.userUuid())
                .set(CARD_USER.CARD_ID, candidate.cardId())
                .set(CARD_USER.SOURCE, "callback")
                .set(CARD_USER.API_BALANCE, balance.fiatAmount())
                .set(CARD_USER.API_BALANCE_CURRENCY, balance.fiatCurrency())
                .set(CARD_USER.API_BALANCE_CHECKED_AT, DSL.currentInstant())
                .onConflict(CARD_USER.USER_UUID).doUpdate()
                .set(CARD_USER.CARD_ID, DSL.coalesce(CARD_USER.CARD_ID, DSL.val(candidate.cardId())))
                .set(CARD_USER.API_BALANCE, balance.fiatAmount())
                .set(CARD_USER.API_BALANCE_CURRENCY, balance.fiatCurrency())
                .set(CARD_USER.API_BALANCE_CHECKED_AT, DSL.currentInstant())
                .execute();
    }

}
