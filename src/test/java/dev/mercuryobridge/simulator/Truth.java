package dev.mercuryobridge.simulator;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What really happened in a {@link Scenario}, to judge the service (and the reconciler) against.
 * Plain data, equal for equal seeds, configs and epochs.
 *
 * <h2>What a correct reconciler finds (the contract)</h2>
 * Pure computations over what was delivered, given that every scenario user is a registered card
 * user (with their {@link CardUserRef#ip()}) and Mercuryo's API is at the scenario's final state:
 * <ul>
 *   <li>{@link #sellRequestsWhoseLastDeliveredStatusIsNotFinal()}: a missed callback each.</li>
 *   <li>{@link #unseenLedgerItems()}: per user, the final ledger items none of whose announcing
 *       callbacks was delivered. A purchase is announced by each of its {@code card_transaction}
 *       events (AUTHORIZED and CLEARED, AUTHORIZED and REVERSED, or DECLINED alone) and is seen if
 *       ANY of them was delivered: its lifecycle is one movement. A top-up is announced by its
 *       {@code crypto_top_up} event only (the transaction callbacks of its sell request do not
 *       count). Ledger items have no id: an event and an item are the same movement when
 *       (type, amount, currency, timestamp) agree ({@link CardTransaction#key()}); a
 *       {@code crypto_top_up} has no timestamp, its item is stamped with the second its sell
 *       request succeeded (the {@code updated_at_ts} of the {@code succeeded} callback).</li>
 *   <li>{@link #expectedBalanceByEmail()} and {@link #expectedDriftUsers()}: the checkpoint is the
 *       user's latest DELIVERED {@code crypto_top_up}, latest by its ledger item's timestamp. The
 *       expected balance is the checkpoint's {@code card_balance.fiat_amount} plus the effects of
 *       the delivered movements whose ledger timestamp is after the checkpoint's; without a
 *       checkpoint, the sum of the effects of all delivered movements (a card starts at 0). A
 *       delivered top-up's effect is +fiat_amount. A purchase's effect follows the furthest
 *       lifecycle status among ITS DELIVERED events: AUTHORIZED or CLEARED → −amount, REVERSED or
 *       DECLINED → 0. A user drifts when Mercuryo's final balance differs from the expected one.
 *       (No event says when a reversal happened; a purchase authorized before a checkpoint and
 *       reversed after it would look like drift, so scenarios never generate one.)</li>
 * </ul>
 *
 * @param finalStatusBySellRequest every sell request's final status ({@code succeeded} or
 *                                 {@code failed}), in creation order
 * @param usersByEmail             every user with their card and IP
 * @param finalBalanceByEmail      every card's balance at the end
 * @param ledgerByEmail            every card's ledger at the end, oldest first
 * @param callbacks                every callback Mercuryo emitted, in emission order
 * @param deliveries               how each was delivered, in sending order
 */
public record Truth(Map<String, String> finalStatusBySellRequest,
                    Map<String, CardUserRef> usersByEmail,
                    Map<String, BigDecimal> finalBalanceByEmail,
                    Map<String, List<CardTransaction>> ledgerByEmail,
                    List<SimCallback> callbacks,
                    List<CallbackSender.Delivery> deliveries) {

    public Truth {
        finalStatusBySellRequest = Collections.unmodifiableMap(new LinkedHashMap<>(finalStatusBySellRequest));
        usersByEmail = Collections.unmodifiableMap(new LinkedHashMap<>(usersByEmail));
        finalBalanceByEmail = Collections.unmodifiableMap(new LinkedHashMap<>(finalBalanceByEmail));
        Map<String, List<CardTransaction>> ledgers = new LinkedHashMap<>();
        ledgerByEmail.forEach((email, ledger) -> ledgers.put(email, List.copyOf(ledger)));
        ledgerByEmail = Collections.unmodifiableMap(ledgers);
        callbacks = List.copyOf(callbacks);
        deliveries = List.copyOf(deliveries);
    }

    public Map<String, String> cardIdByEmail() {
        Map<String, String> cards = new LinkedHashMap<>();
        usersByEmail.forEach((email, user) -> cards.put(email, user.cardId()));
        return cards;
    }

    /** Keys ({@link SimCallback#key()}) of the callbacks never sent. */
    public Set<String> dropped() {
        return keys(CallbackSender.Delivery::dropped);
    }

    /** Keys of the callbacks sent twice. */
    public Set<String> duplicated() {
        return keys(d -> d.copies() == 2);
    }

    /** Keys of the callbacks sent after a newer one. */
    public Set<String> reordered() {
        return keys(CallbackSender.Delivery::reordered);
    }

    /**
     * Per sell request that the service heard of at all, the status it should hold: that of the
     * newest (by {@code updated_at_ts}) delivered transaction callback, whatever the arrival order.
     */
    public Map<String, String> lastDeliveredStatusBySellRequest() {
        Map<String, SimCallback> newest = new LinkedHashMap<>();
        for (CallbackSender.Delivery d : deliveries) {
            SimCallback c = d.callback();
            if (!d.dropped() && c.kind() == SimCallback.Kind.TRANSACTION) {
                newest.merge(c.sellRequestId(), c, (a, b) -> b.updatedAtTs() > a.updatedAtTs() ? b : a);
            }
        }
        Map<String, String> statuses = new LinkedHashMap<>();
        finalStatusBySellRequest.keySet().forEach(id -> {
            if (newest.containsKey(id)) {
                statuses.put(id, newest.get(id).status());
            }
        });
        return statuses;
    }

    /** Sell requests whose final-status callback was delivered, with that status. */
    public Map<String, String> sellRequestsWithFinalDelivered() {
        Map<String, String> result = new LinkedHashMap<>();
        lastDeliveredStatusBySellRequest().forEach((id, status) -> {
            if (status.equals(finalStatusBySellRequest.get(id))) {
                result.put(id, status);
            }
        });
        return result;
    }

    /**
     * Sell requests the service knows in a non-final status because their final-status
     * callback was dropped (an earlier one arrived): exactly what the reconciler must resolve
     * by polling {@code GET /sdk-partner/spend/cards/sell-request/{id}/status}.
     */
    public Set<String> sellRequestsWhoseLastDeliveredStatusIsNotFinal() {
        Set<String> result = new LinkedHashSet<>();
        lastDeliveredStatusBySellRequest().forEach((id, status) -> {
            if (!status.equals(finalStatusBySellRequest.get(id))) {
                result.add(id);
            }
        });
        return result;
    }

    /**
     * Sell requests none of whose transaction callbacks was delivered: the service has never
     * heard of them (only a delivered crypto_top_up event or the card ledger can reveal them).
     */
    public Set<String> sellRequestsNeverDelivered() {
        Set<String> result = new LinkedHashSet<>(finalStatusBySellRequest.keySet());
        result.removeAll(lastDeliveredStatusBySellRequest().keySet());
        return result;
    }

    /** Spend Card events (card_status, crypto_top_up, card_transaction) that were never sent. */
    public List<SimCallback> droppedCardEvents() {
        return deliveries.stream()
                .filter(d -> d.dropped() && d.callback().kind().isSpendCardEvent())
                .map(CallbackSender.Delivery::callback)
                .toList();
    }

    /** Spend Card events that were sent (at least once). */
    public List<SimCallback> deliveredCardEvents() {
        return deliveries.stream()
                .filter(d -> !d.dropped() && d.callback().kind().isSpendCardEvent())
                .map(CallbackSender.Delivery::callback)
                .toList();
    }

    /**
     * Per user (e-mail) with at least one, in ledger order: the final ledger items no delivered
     * callback announced (see the class comment).
     */
    public Map<String, List<CardTransaction>> unseenLedgerItems() {
        Map<String, Set<CardTransaction.Key>> seen = new HashMap<>();
        for (SimCallback c : deliveredMovementEvents()) {
            seen.computeIfAbsent(c.cardId(), k -> new HashSet<>()).add(c.cardTransaction().key());
        }
        Map<String, List<CardTransaction>> unseen = new LinkedHashMap<>();
        ledgerByEmail.forEach((email, ledger) -> {
            Set<CardTransaction.Key> seenOnCard = seen.getOrDefault(usersByEmail.get(email).cardId(), Set.of());
            List<CardTransaction> items = ledger.stream().filter(t -> !seenOnCard.contains(t.key())).toList();
            if (!items.isEmpty()) {
                unseen.put(email, items);
            }
        });
        return Collections.unmodifiableMap(unseen);
    }

    /** Per user (e-mail), the balance the delivered callbacks imply (see the class comment). */
    public Map<String, BigDecimal> expectedBalanceByEmail() {
        Map<String, List<SimCallback>> eventsByCard = new HashMap<>();
        for (SimCallback c : deliveredMovementEvents()) {
            eventsByCard.computeIfAbsent(c.cardId(), k -> new ArrayList<>()).add(c);
        }
        Map<String, BigDecimal> expected = new LinkedHashMap<>();
        usersByEmail.forEach((email, user) ->
                expected.put(email, expectedBalance(eventsByCard.getOrDefault(user.cardId(), List.of()))));
        return Collections.unmodifiableMap(expected);
    }

    /** Users (e-mails) whose final balance at Mercuryo differs from {@link #expectedBalanceByEmail()}. */
    public Set<String> expectedDriftUsers() {
        Set<String> drifting = new LinkedHashSet<>();
        expectedBalanceByEmail().forEach((email, expected) -> {
            if (finalBalanceByEmail.get(email).compareTo(expected) != 0) {
                drifting.add(email);
            }
        });
        return Collections.unmodifiableSet(drifting);
    }

    private static BigDecimal expectedBalance(List<SimCallback> delivered) {
        SimCallback checkpoint = null;
        // The furthest delivered status of each movement, by its ledger key.
        Map<CardTransaction.Key, CardTransaction> movements = new LinkedHashMap<>();
        for (SimCallback c : delivered) {
            CardTransaction item = c.cardTransaction();
            if (c.kind() == SimCallback.Kind.CRYPTO_TOP_UP
                    && (checkpoint == null || item.timestamp().isAfter(checkpoint.cardTransaction().timestamp()))) {
                checkpoint = c;
            }
            movements.merge(item.key(), item, (a, b) -> rank(b.status()) > rank(a.status()) ? b : a);
        }
        Instant after = checkpoint == null ? Instant.MIN : checkpoint.cardTransaction().timestamp();
        BigDecimal expected = checkpoint == null ? BigDecimal.ZERO : checkpoint.cardBalance();
        for (CardTransaction movement : movements.values()) {
            if (movement.timestamp().isAfter(after)) {
                expected = expected.add(movement.balanceEffect());
            }
        }
        return expected;
    }

    /** AUTHORIZED comes first; CLEARED, REVERSED and DECLINED each end a purchase. */
    private static int rank(String status) {
        return CardTransaction.AUTHORIZED.equals(status) ? 0 : 1;
    }

    /** Delivered Spend Card events that announce a ledger item (crypto_top_up, card_transaction). */
    private List<SimCallback> deliveredMovementEvents() {
        return deliveries.stream()
                .filter(d -> !d.dropped() && d.callback().cardTransaction() != null)
                .map(CallbackSender.Delivery::callback)
                .toList();
    }

    private Set<String> keys(Predicate<CallbackSender.Delivery> which) {
        Set<String> keys = new LinkedHashSet<>();
        deliveries.stream().filter(which).forEach(d -> keys.add(d.callback().key()));
        return keys;
    }
}
