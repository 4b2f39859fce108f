package dev.mercuryobridge.simulator;

import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What really happened in a {@link Scenario}, to judge the service (and the reconciler) against.
 * Plain data, equal for equal seeds and configs.
 *
 * @param finalStatusBySellRequest every sell request's final status ({@code succeeded} or
 *                                 {@code failed}), in creation order
 * @param usersByEmail             every user with their card
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

    private Set<String> keys(Predicate<CallbackSender.Delivery> which) {
        Set<String> keys = new LinkedHashSet<>();
        deliveries.stream().filter(which).forEach(d -> keys.add(d.callback().key()));
        return keys;
    }
}
