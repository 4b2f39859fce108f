package dev.mercuryobridge.ingest;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Mercuryo's status vocabulary per transaction type: which statuses are final and how far along
 * each one is (its rank), used to order two callbacks that carry the same {@code updated_at_ts}.
 *
 * <p>Unknown statuses are accepted and treated as non-final with rank {@link #UNKNOWN_RANK}, just
 * above {@code new}. A type without its own table ({@code fiat_deposit} uses deposit's; anything
 * else uses the union of all tables) still gets the meaning its status has elsewhere.
 */
final class TransactionStatuses {

    public static final int FINAL_RANK = 100;
    public static final int UNKNOWN_RANK = 1;

    private record Table(Map<String, Integer> nonFinal, Set<String> finals) {
        Integer rank(String status) {
            if (finals.contains(status)) {
                return FINAL_RANK;
            }
            return nonFinal.get(status);
        }
    }

    private static final Table BUY = new Table(
            Map.of("new", 0, "pending", 10, "order_scheduled", 20, "descriptor_failed", 20, "failed_exchange", 20),
            Set.of("paid", "order_failed", "cancelled"));
    private static final Table WITHDRAW = new Table(
            Map.of("new", 0, "pending", 10, "order_scheduled", 20),
            Set.of("completed", "failed"));
    private static final Table DEPOSIT = new Table(
            Map.of("new", 0, "pending", 10),
            Set.of("completed", "succeeded", "failed"));
    private static final Table SELL = new Table(
            Map.of("new", 0, "pending", 10),
            Set.of("succeeded", "failed", "cancelled"));
    private static final Table ANY = union(List.of(BUY, WITHDRAW, DEPOSIT, SELL));

    private static final Map<String, Table> BY_TYPE = Map.of(
            "buy", BUY,
            "withdraw", WITHDRAW,
            "deposit", DEPOSIT,
            "fiat_deposit", DEPOSIT,
            "sell", SELL);

    private TransactionStatuses() {}

    public static boolean isFinal(String type, String status) {
        return table(type).finals().contains(status);
    }

    public static int rank(String type, String status) {
        Integer rank = table(type).rank(status);
        return rank == null ? UNKNOWN_RANK : rank;
    }

    static boolean isKnown(String type, String status) {
        return table(type).rank(status) != null;
    }

    private static Table table(String type) {
        return type == null ? ANY : BY_TYPE.getOrDefault(type, ANY);
    }

    private static Table union(List<Table> tables) {
        Map<String, Integer> nonFinal = new HashMap<>();
        Set<String> finals = new java.util.HashSet<>();
        for (Table t : tables) {
            t.nonFinal().forEach((s, r) -> nonFinal.merge(s, r, Math::max));
            finals.addAll(t.finals());
        }
        finals.forEach(nonFinal::remove);
        return new Table(Map.copyOf(nonFinal), Set.copyOf(finals));
    }
}
