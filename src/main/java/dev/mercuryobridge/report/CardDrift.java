package dev.mercuryobridge.report;

import dev.mercuryobridge.reconcile.CardLedger;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A card's balance over a period, explained from what the service stores: the movements its Spend
 * Card callbacks reported ({@link CardLedger}, the reconciler's own definition), the
 * {@code card_balance} Mercuryo sent with each top-up (a checkpoint), and the balance the
 * reconciler last read from the API.
 *
 * <p>One walk through the movements in time order carries the balance the callbacks imply: each
 * movement adds its effect; a checkpoint then sets the balance to Mercuryo's figure, and the step
 * it takes is a correction (money the callbacks did not tell of). Reading the walk at the period's
 * start, at its end and at the API check gives the opening, the closing and the balance expected at
 * the check. At the end of the walk it is the reconciler's expected balance
 * ({@link CardLedger#expectedBalance()}): the latest checkpoint plus the movements after it. The
 * reconciler places movements at the times of Mercuryo's list, which is not stored; here they are
 * at the callbacks' times.
 */
final class CardDrift {

    /** The balance the reconciler last read: amount, currency and when (amount and time never null). */
    record ApiBalance(BigDecimal amount, String currency, Instant checkedAt) {
        ApiBalance {
            java.util.Objects.requireNonNull(amount, "amount");
            java.util.Objects.requireNonNull(checkedAt, "checkedAt");
        }
    }

    private CardDrift() {}

    /**
     * Time order, with CardLedger's rules for ties: a movement at the same instant as a checkpoint
     * is counted in Mercuryo's figure (it comes first), and of two checkpoints at one instant (one
     * group commit) the first in the ledger's order is the latest word (it comes last).
     */
    private static List<CardLedger.Movement> walkOrder(List<CardLedger.Movement> movements) {
        Map<CardLedger.Movement, Integer> position = new IdentityHashMap<>();
        for (CardLedger.Movement m : movements) {
            position.put(m, position.size());
        }
        List<CardLedger.Movement> ordered = new ArrayList<>(movements);
        ordered.sort(Comparator.comparing(CardLedger.Movement::time)
                .thenComparing(m -> m.balanceAfter() != null)
                .thenComparing((a, b) -> a.balanceAfter() != null && b.balanceAfter() != null
                        ? Integer.compare(position.get(b), position.get(a)) : 0));
        return ordered;
    }

    static ReportModel.CardLine line(String cardId, String userUuid, List<CardLedger.Movement> movements, ApiBalance api,
                                     Instant start, Instant end) {
        List<CardLedger.Movement> ordered = walkOrder(movements);
        Instant check = api == null ? null : api.checkedAt();

        BigDecimal balance = BigDecimal.ZERO;
        boolean checkpointed = false;
        BigDecimal opening = null;
        ReportModel.OpeningBasis basis = null;
        BigDecimal closing = null;
        BigDecimal atCheck = null;
        BigDecimal topUps = BigDecimal.ZERO;
        BigDecimal purchases = BigDecimal.ZERO;
        BigDecimal other = BigDecimal.ZERO;
        BigDecimal corrections = BigDecimal.ZERO;
        Map<List<String>, ReportModel.MovementTotal> kinds = new LinkedHashMap<>();
        TreeSet<String> currencies = new TreeSet<>();

        for (CardLedger.Movement m : ordered) {
            if (opening == null && !m.time().isBefore(start)) {
                opening = balance;
                basis = checkpointed ? ReportModel.OpeningBasis.CHECKPOINT : ReportModel.OpeningBasis.CALLBACKS_ONLY;
            }
            if (closing == null && !m.time().isBefore(end)) {
                closing = balance;
            }
            if (atCheck == null && check != null && m.time().isAfter(check)) {
                atCheck = balance;
            }
            currencies.add(m.currency());
            boolean inPeriod = !m.time().isBefore(start) && m.time().isBefore(end);
            balance = balance.add(m.effect());
            if (inPeriod) {
                kinds.merge(List.of(m.type(), m.status(), m.currency()),
                        new ReportModel.MovementTotal(m.type(), m.status(), m.currency(), 1, m.amount(), m.effect()),
                        (a, b) -> new ReportModel.MovementTotal(a.type(), a.status(), a.currency(), a.count() + 1,
                                a.amountTotal().add(b.amountTotal()), a.effectTotal().add(b.effectTotal())));
                if (m.movesMoney()) {
                    switch (m.type()) {
                        case "TOP_UP" -> topUps = topUps.add(m.amount());
                        case "PURCHASE" -> purchases = purchases.add(m.amount());
                        default -> other = other.add(m.effect());
                    }
                }
            }
            if (m.balanceAfter() != null) {
                if (inPeriod) {
                    corrections = corrections.add(m.balanceAfter().subtract(balance));
                }
                balance = m.balanceAfter();
                checkpointed = true;
            }
        }
        if (opening == null) {
            opening = balance;
            basis = checkpointed ? ReportModel.OpeningBasis.CHECKPOINT : ReportModel.OpeningBasis.CALLBACKS_ONLY;
        }
        if (closing == null) {
            closing = balance;
        }
        if (atCheck == null && check != null) {
            atCheck = balance;
        }

        String currency = currencies.isEmpty() ? (api == null ? null : api.currency()) : ordered.getFirst().currency();
        List<String> notes = new ArrayList<>();
        if (basis == ReportModel.OpeningBasis.CALLBACKS_ONLY) {
            notes.add("no card_balance checkpoint before the period: the opening balance counts only the movements "
                    + "the callbacks reported, as if the card held nothing before the first");
        }
        if (currencies.size() > 1) {
            notes.add("movements in more than one currency " + currencies + " are summed as one");
        }
        BigDecimal unexplained = null;
        BigDecimal expectedAtCheck = atCheck;
        if (api == null) {
            expectedAtCheck = null;
            notes.add("API balance unknown: the reconciler has not read this card's balance");
        } else if (api.currency() != null && currency != null && !api.currency().equalsIgnoreCase(currency)) {
            notes.add("API balance is in " + api.currency() + ", the callbacks in " + currency
                    + ": no difference can be computed");
        } else {
            unexplained = api.amount().subtract(atCheck);
        }
        return new ReportModel.CardLine(cardId, userUuid, currency, opening, basis, topUps, purchases, other, corrections,
                closing, api == null ? null : api.amount(), api == null ? null : api.currency(), check,
                expectedAtCheck == null ? null : expectedAtCheck.subtract(closing), expectedAtCheck, unexplained,
                notes.isEmpty() ? null : String.join("; ", notes),
                kinds.values().stream().sorted(Comparator.comparing(ReportModel.MovementTotal::type)
                        .thenComparing(ReportModel.MovementTotal::status).thenComparing(ReportModel.MovementTotal::currency)).toList());
    }
}
