package dev.mercuryobridge.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.mercuryobridge.db.Jsonb;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A card's money as its Spend Card callbacks told it: the one definition of a card movement, used
 * by the reconciler (against Mercuryo's transaction list and balance) and by the report alike.
 *
 * <ul>
 *   <li>A {@code card_transaction}'s lifecycle (AUTHORIZED, then CLEARED, or REVERSED; or DECLINED
 *       at once) is one movement, whatever number of events told it. Its effect follows the
 *       furthest status heard: AUTHORIZED and CLEARED take the amount off the card (a debit) or
 *       add it (TOP_UP, REFUND); REVERSED, DECLINED, FAILED... move nothing. Events of one lifecycle
 *       are recognised by {@code transaction.id} when Mercuryo sends one, else by type, amount,
 *       currency and {@code transaction.timestamp} (see the README's assumptions).</li>
 *   <li>A {@code crypto_top_up} is one TOP_UP credit per {@code sell_request.id} of
 *       {@code sell_request.fiat_amount} once the sell request has succeeded, and its
 *       {@code card_balance} is a checkpoint: Mercuryo's balance right after that top-up.</li>
 * </ul>
 * Mercuryo's list items have no id, so they are matched to movements by type, amount, currency and
 * time within {@link #MATCH_TOLERANCE}.
 */
public final class CardLedger {
    private static final Logger log = LoggerFactory.getLogger(CardLedger.class);

    /**
     * How far a movement's time may be from the list item's: a movement without a Mercuryo time is
     * placed at the callback's receipt, and Mercuryo retries an unanswered callback for three days.
     */
    static final Duration MATCH_TOLERANCE = Duration.ofHours(72);

    private static final Set<String> NOT_MOVING_MONEY =
            Set.of("DECLINED", "REVERSED", "FAILED", "CANCELLED", "CANCELED", "REJECTED", "VOIDED");
    private static final Set<String> IN_FLIGHT = Set.of("AUTHORIZED", "PENDING");
    private static final Set<String> CREDITS = Set.of("TOP_UP", "REFUND");
    private static final Pattern DECIMAL = Pattern.compile("-?\\d{1,30}(\\.\\d{1,30})?");
    /** "Currently, only EUR can be used as currency" (API text): a top-up's currency when its event names none. */
    private static final String CARD_CURRENCY = "EUR";

    /** A stored Spend Card event of the card's user. */
    public record Event(UUID eventId, String eventName, JsonNode body, Instant recordedAt) {

        /**
         * An event as stored, possibly before the parser's limits: a field it cannot read is left
         * out like any unreadable field; a body it cannot read at all leaves the event out of the
         * ledger (logged with its id, never its data), and the report or run goes on.
         */
        public static Event stored(UUID eventId, String eventName, org.jooq.JSONB data, Instant recordedAt) {
            JsonNode body = Jsonb.readStored(data).orElseGet(() -> {
                log.warn("Spend Card event {}: its stored data cannot be read; left out of the card's ledger", eventId);
                return MissingNode.getInstance();
            });
            return new Event(eventId, eventName, body, recordedAt);
        }
    }

    /** A line of Mercuryo's transaction list. */
    record Listed(String type, String status, BigDecimal amount, String currency, Instant timestamp,
                  String counterpartyName) {
        String describe() {
            return type.toUpperCase(Locale.ROOT) + " " + amount.toPlainString() + " " + currency.toUpperCase(Locale.ROOT)
                    + " at " + timestamp;
        }
    }

    /**
     * One movement of money on the card.
     *
     * @param time         Mercuryo's time when the callback gave one ({@code transaction.timestamp}),
     *                     else when the first callback about it was received
     * @param balanceAfter for a top-up, the card balance Mercuryo reported right after it, else null
     * @param reference    the sell request of a top-up, or what tied the lifecycle's events together
     */
    public record Movement(String type, String status, BigDecimal amount, String currency, Instant time,
                           BigDecimal balanceAfter, String reference) {

        boolean isCredit() {
            return CREDITS.contains(type);
        }

        public boolean movesMoney() {
            return !NOT_MOVING_MONEY.contains(status);
        }

        /** What the movement does to the balance: positive for credits, negative for debits, zero if nothing moved. */
        public BigDecimal effect() {
            if (!movesMoney()) {
                return BigDecimal.ZERO;
            }
            return isCredit() ? amount : amount.negate();
        }

        boolean matches(Listed item) {
            return type.equalsIgnoreCase(item.type()) && amount.compareTo(item.amount()) == 0
                    && currency.equalsIgnoreCase(item.currency());
        }
    }

    /** What comparing the callbacks with Mercuryo's list showed. */
    record Comparison(List<Listed> unseen, BigDecimal expectedBalance, Movement checkpoint) {}

    private final List<Movement> movements;

    private CardLedger(List<Movement> movements) {
        this.movements = List.copyOf(movements);
    }

    /** Builds the ledger from a user's Spend Card events, in any order; events it cannot read are left out. */
    public static CardLedger of(List<Event> events) {
        List<Event> ordered = new ArrayList<>(events);
        ordered.sort(Comparator.comparing(Event::recordedAt).thenComparing(Event::eventId));
        Map<String, Movement> byLifecycle = new LinkedHashMap<>();
        for (Event e : ordered) {
            switch (e.eventName()) {
                case "card_transaction" -> cardTransaction(e).ifPresent(m -> byLifecycle.merge(m.reference(), m, CardLedger::later));
                case "crypto_top_up" -> topUp(e).ifPresent(m -> byLifecycle.merge(m.reference(), m, CardLedger::laterTopUp));
                default -> { }
            }
        }
        return new CardLedger(new ArrayList<>(byLifecycle.values()));
    }

    public List<Movement> movements() {
        return movements;
    }

    /**
     * Matches Mercuryo's list against the movements (each list item to the nearest unmatched
     * movement of the same type, amount and currency within the tolerance) and computes the balance
     * the callbacks imply, placing matched movements at Mercuryo's list time.
     */
    Comparison compare(List<Listed> listed) {
        List<Listed> byTime = new ArrayList<>(listed);
        byTime.sort(Comparator.comparing(Listed::timestamp));
        Map<Movement, Instant> matchedAt = new java.util.IdentityHashMap<>();
        List<Listed> unseen = new ArrayList<>();
        for (Listed item : byTime) {
            Movement best = null;
            Duration bestGap = null;
            for (Movement m : movements) {
                if (matchedAt.containsKey(m) || !m.matches(item)) {
                    continue;
                }
                Duration gap = Duration.between(m.time(), item.timestamp()).abs();
                if (gap.compareTo(MATCH_TOLERANCE) <= 0 && (bestGap == null || gap.compareTo(bestGap) < 0)) {
                    best = m;
                    bestGap = gap;
                }
            }
            if (best == null) {
                unseen.add(item);
            } else {
                matchedAt.put(best, item.timestamp());
            }
        }
        Function<Movement, Instant> timeOf = m -> matchedAt.getOrDefault(m, m.time());
        Movement checkpoint = latestCheckpoint(timeOf, matchedAt::containsKey);
        return new Comparison(List.copyOf(unseen), expectedBalance(checkpoint, timeOf), checkpoint);
    }

    /** The balance the callbacks imply, with movements at their own times (no list to place them). */
    public BigDecimal expectedBalance() {
        return expectedBalance(latestCheckpoint(Movement::time, m -> true), Movement::time);
    }

    /**
     * The latest checkpoint's balance plus every movement after it; without a checkpoint, the sum
     * of every movement. A checkpoint makes the expectation independent of what came before it
     * (money before the service started listening, a callback lost long ago).
     */
    private BigDecimal expectedBalance(Movement checkpoint, Function<Movement, Instant> timeOf) {
        BigDecimal total = checkpoint == null ? BigDecimal.ZERO : checkpoint.balanceAfter();
        for (Movement m : movements) {
            if (checkpoint == null || (m != checkpoint && timeOf.apply(m).isAfter(timeOf.apply(checkpoint)))) {
                total = total.add(m.effect());
            }
        }
        return total;
    }

    private Movement latestCheckpoint(Function<Movement, Instant> timeOf, Predicate<Movement> placed) {
        return movements.stream()
                .filter(m -> m.balanceAfter() != null && placed.test(m))
                .max(Comparator.comparing(timeOf))
                .orElse(null);
    }

    // ---- reading events ------------------------------------------------------------------------

    private static java.util.Optional<Movement> cardTransaction(Event e) {
        JsonNode t = e.body().path("transaction");
        String type = upper(t.path("type"));
        String status = upper(t.path("status"));
        BigDecimal amount = decimal(t.path("amount"));
        String currency = upper(t.path("currency"));
        if (type == null || amount == null || currency == null) {
            return java.util.Optional.empty();   // kept with its event, visible on the admin API, not counted
        }
        Instant timestamp = instant(t.path("timestamp"));
        String id = t.path("id").isValueNode() && !t.path("id").asText().isBlank() ? t.path("id").asText() : null;
        String lifecycle = id != null ? "transaction:" + id
                : timestamp != null ? "lifecycle:" + type + "|" + amount.stripTrailingZeros().toPlainString() + "|" + currency + "|" + timestamp
                : "event:" + e.eventId();
        return java.util.Optional.of(new Movement(type, status == null ? "" : status, amount.abs(), currency,
                timestamp != null ? timestamp : e.recordedAt(), null, lifecycle));
    }

    private static java.util.Optional<Movement> topUp(Event e) {
        JsonNode request = e.body().path("sell_request");
        String id = request.path("id").isValueNode() ? request.path("id").asText() : "";
        String status = upper(request.path("status"));
        BigDecimal amount = decimal(request.path("fiat_amount"));
        if (id.isBlank() || amount == null || (status != null && !status.equals("SUCCEEDED"))) {
            return java.util.Optional.empty();
        }
        JsonNode balance = e.body().path("card_balance");
        String currency = upper(balance.path("fiat_currency"));
        if (currency == null) {
            currency = upper(request.path("fiat_currency"));
        }
        return java.util.Optional.of(new Movement("TOP_UP", "SUCCEEDED", amount.abs(), currency != null ? currency : CARD_CURRENCY,
                e.recordedAt(), decimal(balance.path("fiat_amount")), "sell_request:" + id));
    }

    /** Two events of one card transaction: the one further along its lifecycle (the later on a tie) tells its state. */
    private static Movement later(Movement first, Movement second) {
        int a = IN_FLIGHT.contains(first.status()) ? 1 : 2;
        int b = IN_FLIGHT.contains(second.status()) ? 1 : 2;
        Movement furthest = b >= a ? second : first;
        // The lifecycle keeps the time it was first told: it is what the list shows.
        return new Movement(furthest.type(), furthest.status(), furthest.amount(), furthest.currency(),
                first.time().isBefore(second.time()) ? first.time() : second.time(), furthest.balanceAfter(),
                furthest.reference());
    }

    /** Two events of one top-up: one credit, first received, with the latest balance reported. */
    private static Movement laterTopUp(Movement first, Movement second) {
        return new Movement(first.type(), first.status(), first.amount(), first.currency(), first.time(),
                second.balanceAfter() != null ? second.balanceAfter() : first.balanceAfter(), first.reference());
    }

    private static String upper(JsonNode node) {
        if (node == null || !node.isValueNode() || node.isNull() || node.asText().isBlank()) {
            return null;
        }
        return node.asText().strip().toUpperCase(Locale.ROOT);
    }

    /** A decimal written as Mercuryo writes amounts ("30.06"); anything else is not read. */
    private static BigDecimal decimal(JsonNode node) {
        if (node == null || !node.isValueNode() || node.isNull()) {
            return null;
        }
        String text = node.asText().strip();
        return DECIMAL.matcher(text).matches() ? new BigDecimal(text) : null;
    }

    private static Instant instant(JsonNode node) {
        if (node == null || !node.isTextual()) {
            return null;
        }
        try {
            return Instant.parse(node.textValue().strip());
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
