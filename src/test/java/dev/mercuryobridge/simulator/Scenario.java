package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.mercuryobridge.http.Json;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * A deterministic stretch of Mercuryo life: users open Spend Cards, top them up by selling
 * crypto (sell requests going new → pending → succeeded | failed) and spend from them. Everything
 * (ids, amounts, unix timestamps from {@link #EPOCH}, event ids, delivery faults) is drawn from one
 * seed, so the same config always yields an equal {@link Truth}.
 *
 * <p>Construction only computes; {@link #run} plays it: each change is applied to a
 * {@link MercuryoSimulator} just before the callbacks about it are handed to a
 * {@link CallbackSender}, so the simulator's API is never behind the callbacks (as at Mercuryo,
 * where a dropped callback leaves the API ahead). A scenario's users are {@code user-<n>@sim.test},
 * so play one scenario per simulator.
 */
public final class Scenario {

    /**
     * @param seed             the one source of randomness
     * @param users            users, each with one active card
     * @param sellRequests     card top-ups (sell requests), spread over the users
     * @param purchasesPerUser card purchases per user, after their first successful top-up
     *                         (users without one buy nothing)
     * @param dropRate         share of callbacks never sent
     * @param duplicateRate    share of callbacks sent twice
     * @param reorderRate      share of callbacks sent after a newer one
     * @param maxDelay         each callback waits 0..maxDelay before it is sent
     * @param failRate         share of sell requests ending {@code failed} instead of {@code succeeded}
     */
    public record Config(long seed, int users, int sellRequests, int purchasesPerUser, double dropRate,
                         double duplicateRate, double reorderRate, Duration maxDelay, double failRate) {
        public Config {
            if (users < 1 || sellRequests < 0 || purchasesPerUser < 0) {
                throw new IllegalArgumentException("users >= 1, sellRequests >= 0, purchasesPerUser >= 0");
            }
            for (double rate : new double[] {dropRate, duplicateRate, reorderRate, failRate}) {
                if (rate < 0 || rate > 1) {
                    throw new IllegalArgumentException("rates are between 0 and 1: " + rate);
                }
            }
            if (maxDelay.isNegative()) {
                throw new IllegalArgumentException("maxDelay must be >= 0");
            }
        }
    }

    /** The truth of a run and what the sender did. */
    public record Run(Truth truth, CallbackSender.Result result) {}

    /** Unix second all scenario timestamps count from (2023-11-14T22:13:20Z). */
    public static final long EPOCH = 1_700_000_000L;

    static final String SELL = "sell";
    static final String SPEND_CARD_TOPUP = "spend_card_topup";
    static final String SUCCEEDED = "succeeded";
    static final String FAILED = "failed";
    static final String EUR = "EUR";

    private static final DateTimeFormatter MERCURYO_TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    private static final List<Merchant> MERCHANTS = List.of(
            new Merchant("Amazon EU", "5942", EUR, new BigDecimal("1.000000")),
            new Merchant("Spotify", "5815", EUR, new BigDecimal("1.000000")),
            new Merchant("Lidl", "5411", EUR, new BigDecimal("1.000000")),
            new Merchant("Booking.com", "4722", EUR, new BigDecimal("1.000000")),
            new Merchant("Uber", "4121", "USD", new BigDecimal("1.085000")),
            new Merchant("Apple.com/bill", "5818", "USD", new BigDecimal("1.085000")),
            new Merchant("Tesco", "5411", "GBP", new BigDecimal("0.856000")));

    private final Config config;
    private final List<Step> steps;
    private final Map<String, Integer> stepOfCallback;
    private final Truth truth;

    public Scenario(Config config) {
        this(config, EPOCH);
    }

    /**
     * A scenario whose timestamps start at {@code epoch} (unix seconds) instead of {@link #EPOCH}:
     * dev mode plays "today" so that reports by day show its traffic.
     */
    public Scenario(Config config, long epoch) {
        this.config = config;
        Generator generator = new Generator(config, epoch);
        this.steps = List.copyOf(generator.steps);
        Map<String, Integer> stepOf = new HashMap<>();
        List<SimCallback> callbacks = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            for (SimCallback c : steps.get(i).callbacks()) {
                stepOf.put(c.key(), i);
                callbacks.add(c);
            }
        }
        this.stepOfCallback = Map.copyOf(stepOf);
        // A separate stream for delivery faults: the same seed with other rates keeps the content.
        List<CallbackSender.Delivery> deliveries = CallbackSender.plan(callbacks, config.seed() ^ 0x5DEECE66DL,
                config.dropRate(), config.duplicateRate(), config.reorderRate(), config.maxDelay());
        this.truth = new Truth(generator.finalStatus, generator.users, generator.balances, generator.ledgers,
                callbacks, deliveries);
    }

    public Config config() {
        return config;
    }

    public Truth truth() {
        return truth;
    }

    /**
     * Plays the scenario: every change is applied to {@code sim} just before its callbacks are
     * handed to {@code sender} (dropped ones included, so the API ends in the final state whatever
     * was delivered). Returns when every callback has been delivered or given up.
     */
    public Run run(MercuryoSimulator sim, CallbackSender sender) {
        int[] applied = {0};
        CallbackSender.Result result = sender.sendAll(truth.deliveries(),
                d -> applyThrough(sim, stepOfCallback.get(d.callback().key()), applied));
        applyThrough(sim, steps.size() - 1, applied);
        return new Run(truth, result);
    }

    /** Applies every change to {@code sim} without sending a callback (all of them "dropped"). */
    public void applyTo(MercuryoSimulator sim) {
        applyThrough(sim, steps.size() - 1, new int[] {0});
    }

    private void applyThrough(MercuryoSimulator sim, int last, int[] applied) {
        while (applied[0] <= last) {
            steps.get(applied[0]++).effect().accept(sim);
        }
    }

    // ---------------------------------------------------------------- generation

    /** One change at Mercuryo: what it does to the simulator and the callbacks it causes. */
    private record Step(Consumer<MercuryoSimulator> effect, List<SimCallback> callbacks) {}

    private record Merchant(String name, String mcc, String currency, BigDecimal fxRate) {}

    private record Topup(String id, CardUserRef user, String merchantTransactionId, String currency,
                         BigDecimal cryptoAmount, BigDecimal fiatAmount, BigDecimal fee, BigDecimal rate,
                         String address, boolean succeeds, long createdAt, long pendingAt, long finalAt) {
        BigDecimal credit() {
            return fiatAmount.subtract(fee);
        }

        String finalStatus() {
            return succeeds ? SUCCEEDED : FAILED;
        }
    }

    /** A change before times are made unique; {@code order} breaks ties stably. */
    private record Planned(long desiredAt, int order, Kind kind, CardUserRef user, Topup topup, String status,
                           Merchant merchant, BigDecimal spendShare) {
        enum Kind { CARD_OPENED, SELL_STATUS, PURCHASE }
    }

    private static final class Generator {
        final Random random;
        final Map<String, CardUserRef> users = new LinkedHashMap<>();
        final Map<String, String> finalStatus = new LinkedHashMap<>();
        final Map<String, BigDecimal> balances = new LinkedHashMap<>();
        final Map<String, List<CardTransaction>> ledgers = new LinkedHashMap<>();
        final Map<String, Long> createdAt = new HashMap<>();
        final Set<String> ids = new HashSet<>();
        final List<Step> steps = new ArrayList<>();

        Generator(Config config, long epoch) {
            random = new Random(config.seed());
            List<Planned> planned = new ArrayList<>();
            List<CardUserRef> userList = new ArrayList<>();
            for (int n = 1; n <= config.users(); n++) {
                CardUserRef user = new CardUserRef(uuid4().toString(), "user-" + n + "@sim.test", uniqueId());
                userList.add(user);
                users.put(user.email(), user);
                balances.put(user.email(), new BigDecimal("0.00"));
                ledgers.put(user.email(), new ArrayList<>());
                planned.add(new Planned(epoch + n, planned.size(), Planned.Kind.CARD_OPENED, user, null, null, null, null));
            }
            long start = epoch + config.users() + 60;
            long window = Math.max(3_600, config.sellRequests() * 30L);
            Map<String, Long> firstCredit = new HashMap<>();
            for (int k = 0; k < config.sellRequests(); k++) {
                Topup t = topup(userList.get(random.nextInt(userList.size())), config.failRate(), start, window);
                finalStatus.put(t.id(), t.finalStatus());
                planned.add(new Planned(t.createdAt(), planned.size(), Planned.Kind.SELL_STATUS, t.user(), t, "new", null, null));
                planned.add(new Planned(t.pendingAt(), planned.size(), Planned.Kind.SELL_STATUS, t.user(), t, "pending", null, null));
                planned.add(new Planned(t.finalAt(), planned.size(), Planned.Kind.SELL_STATUS, t.user(), t, t.finalStatus(), null, null));
                if (t.succeeds()) {
                    firstCredit.merge(t.user().email(), t.finalAt(), Math::min);
                }
            }
            for (CardUserRef user : userList) {
                Long credited = firstCredit.get(user.email());
                for (int j = 0; j < config.purchasesPerUser() && credited != null; j++) {
                    Merchant merchant = MERCHANTS.get(random.nextInt(MERCHANTS.size()));
                    // 10%..60% of the balance at the time: never more than the card holds.
                    BigDecimal share = BigDecimal.valueOf(10 + random.nextInt(51), 2);
                    planned.add(new Planned(credited + 1 + random.nextLong(window), planned.size(),
                            Planned.Kind.PURCHASE, user, null, null, merchant, share));
                }
            }
            planned.sort(Comparator.comparingLong(Planned::desiredAt).thenComparingInt(Planned::order));
            long previous = Long.MIN_VALUE;
            for (Planned p : planned) {
                // Unique, increasing seconds: each sell request's statuses stay strictly ordered,
                // and no two ledger items share a timestamp (they have no id to tell them apart).
                long at = Math.max(p.desiredAt(), previous + 1);
                previous = at;
                Step step = switch (p.kind()) {
                    case CARD_OPENED -> cardOpened(p.user(), at);
                    case SELL_STATUS -> sellStatus(p.topup(), p.status(), at);
                    case PURCHASE -> purchase(p.user(), p.merchant(), p.spendShare(), at);
                };
                if (step != null) {
                    steps.add(step);
                }
            }
        }

        private Topup topup(CardUserRef user, double failRate, long start, long window) {
            String id = uniqueId();
            String merchantTransactionId = "sim-" + uniqueId();
            boolean btc = random.nextBoolean();
            BigDecimal rate = btc
                    ? BigDecimal.valueOf(2_300_000 + random.nextInt(400_000), 2)
                    : BigDecimal.valueOf(150_000 + random.nextInt(50_000), 2);
            BigDecimal wanted = BigDecimal.valueOf(2_570 + random.nextInt(47_431), 2); // 25.70..500.00 EUR
            BigDecimal crypto = wanted.divide(rate, 8, RoundingMode.HALF_UP);
            BigDecimal fiat = crypto.multiply(rate).setScale(2, RoundingMode.HALF_UP);
            BigDecimal fee = fiat.multiply(new BigDecimal("0.0125")).setScale(2, RoundingMode.HALF_UP)
                    .max(new BigDecimal("0.50"));
            String address = btc
                    ? "tb1q" + hex(random.nextLong()) + hex(random.nextLong()).substring(0, 6)
                    : "0x" + hex(random.nextLong()) + hex(random.nextLong()) + hex(random.nextLong()).substring(0, 8);
            boolean succeeds = random.nextDouble() >= failRate;
            long created = start + random.nextLong(window);
            long pending = created + 1 + random.nextInt(300);
            long done = pending + 1 + random.nextInt(900);
            return new Topup(id, user, merchantTransactionId, btc ? "BTC" : "ETH", crypto, fiat, fee, rate, address,
                    succeeds, created, pending, done);
        }

        private Step cardOpened(CardUserRef user, long at) {
            String eventId = uuid4().toString();
            String body = json(new CardStatusEvent(eventId, "card_status", user.cardId(),
                    new EventUser(user.userUuid()), MercuryoSimulator.CARD_ACTIVE));
            SimCallback callback = new SimCallback("card_status:" + eventId, SimCallback.Kind.CARD_STATUS, null,
                    user.cardId(), MercuryoSimulator.CARD_ACTIVE, false, at, null, body);
            return new Step(sim -> sim.addUser(user.email(), user.userUuid(), user.cardId()), List.of(callback));
        }

        private Step sellStatus(Topup t, String status, long at) {
            CardUserRef user = t.user();
            if ("new".equals(status)) {
                createdAt.put(t.id(), at);
            }
            long created = createdAt.get(t.id());
            boolean isFinal = status.equals(t.finalStatus());
            String txBody = json(new TransactionCallback(new TransactionData(t.id(), SELL, status, SPEND_CARD_TOPUP,
                    MercuryoSimulator.crypto(t.cryptoAmount()), t.currency(), MercuryoSimulator.money(t.fiatAmount()), EUR,
                    MercuryoSimulator.money(t.fee()), "0.00", t.rate().toPlainString(), t.merchantTransactionId(),
                    time(created), time(at), created, at, user.cardId(), new TransactionUser(user.userUuid(), user.email()))));
            SimCallback transaction = new SimCallback("transaction:" + t.id() + ":" + status, SimCallback.Kind.TRANSACTION,
                    t.id(), user.cardId(), status, isFinal, at, null, txBody);
            if ("new".equals(status)) {
                SellRequest request = new SellRequest(t.id(), user.userUuid(), user.cardId(), status, t.cryptoAmount(),
                        t.currency(), t.fiatAmount(), EUR, t.address(), t.merchantTransactionId());
                return new Step(sim -> sim.createSellRequest(request), List.of(transaction));
            }
            if (!isFinal || !t.succeeds()) {
                return new Step(sim -> sim.setSellRequestStatus(t.id(), status), List.of(transaction));
            }
            CardTransaction credit = new CardTransaction(CardTransaction.TOP_UP, CardTransaction.CLEARED, t.credit(), EUR,
                    "Crypto top-up " + t.currency(), Instant.ofEpochSecond(at));
            BigDecimal balance = post(user, credit);
            String eventId = uuid4().toString();
            String eventBody = json(new CryptoTopUpEvent(eventId, "crypto_top_up", user.cardId(), new EventUser(user.userUuid()),
                    new EventSellRequest(t.id(), t.merchantTransactionId(), SUCCEEDED, MercuryoSimulator.money(t.fiatAmount()),
                            MercuryoSimulator.money(t.fee()), MercuryoSimulator.crypto(t.cryptoAmount()), t.currency()),
                    eventTransaction(credit), new CardBalance(MercuryoSimulator.money(balance), EUR)));
            SimCallback event = new SimCallback("crypto_top_up:" + eventId, SimCallback.Kind.CRYPTO_TOP_UP, t.id(),
                    user.cardId(), SUCCEEDED, true, at, credit, eventBody);
            return new Step(sim -> {
                sim.setSellRequestStatus(t.id(), status);
                sim.postCardTransaction(user.email(), credit);
            }, List.of(transaction, event));
        }

        private Step purchase(CardUserRef user, Merchant merchant, BigDecimal share, long at) {
            BigDecimal balance = balances.get(user.email());
            BigDecimal amount = balance.multiply(share).setScale(2, RoundingMode.DOWN).max(new BigDecimal("0.01"));
            if (amount.compareTo(balance) > 0) {
                return null; // the card is empty: nothing to spend
            }
            CardTransaction debit = new CardTransaction(CardTransaction.PURCHASE, CardTransaction.CLEARED, amount, EUR,
                    merchant.name(), Instant.ofEpochSecond(at));
            post(user, debit);
            String eventId = uuid4().toString();
            String body = json(new CardTransactionEvent(eventId, "card_transaction", user.cardId(), new EventUser(user.userUuid()),
                    new PurchaseTransaction(debit.type(), debit.status(), MercuryoSimulator.money(amount), EUR,
                            MercuryoSimulator.money(amount.multiply(merchant.fxRate())), merchant.currency(),
                            merchant.fxRate().toPlainString(), merchant.mcc(), merchant.name(), null,
                            debit.timestamp().toString())));
            SimCallback event = new SimCallback("card_transaction:" + eventId, SimCallback.Kind.CARD_TRANSACTION, null,
                    user.cardId(), null, false, at, debit, body);
            return new Step(sim -> sim.postCardTransaction(user.email(), debit), List.of(event));
        }

        private BigDecimal post(CardUserRef user, CardTransaction item) {
            ledgers.get(user.email()).add(item);
            return balances.compute(user.email(), (e, b) -> item.credits() ? b.add(item.amount()) : b.subtract(item.amount()));
        }

        private String uniqueId() {
            String id;
            do {
                id = "0" + hex(random.nextLong());
            } while (!ids.add(id));
            return id;
        }

        /** A version-4 UUID from the seeded stream (UUID.randomUUID would not repeat). */
        private UUID uuid4() {
            long msb = (random.nextLong() & ~0xF000L) | 0x4000L;
            long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
            return new UUID(msb, lsb);
        }
    }

    private static EventTransaction eventTransaction(CardTransaction t) {
        return new EventTransaction(t.type(), t.status(), MercuryoSimulator.money(t.amount()), t.currency(), t.timestamp().toString());
    }

    private static String hex(long value) {
        return HexFormat.of().toHexDigits(value);
    }

    private static String time(long unixSeconds) {
        return MERCURYO_TIME.format(Instant.ofEpochSecond(unixSeconds));
    }

    private static String json(Object body) {
        try {
            return Json.MAPPER.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + body, e);
        }
    }

    // Callback bodies. Json.MAPPER writes record components in declaration order, snake_case,
    // nulls included (decline_reason is an explicit null, as Mercuryo sends it).

    record TransactionCallback(TransactionData data) {}

    record TransactionData(String id, String type, String status, String paymentMethod, String amount, String currency,
                           String fiatAmount, String fiatCurrency, String fee, String partnerFee, String rate,
                           String merchantTransactionId, String createdAt, String updatedAt, long createdAtTs,
                           long updatedAtTs, String cardId, TransactionUser user) {}

    record TransactionUser(String uuid4, String email) {}

    record EventUser(String uuid4) {}

    record CardStatusEvent(String eventId, String eventName, String cardId, EventUser user, String status) {}

    record CryptoTopUpEvent(String eventId, String eventName, String cardId, EventUser user, EventSellRequest sellRequest,
                            EventTransaction transaction, CardBalance cardBalance) {}

    record EventSellRequest(String id, String merchantTransactionId, String status, String fiatAmount, String fee,
                            String cryptoAmount, String cryptoCurrency) {}

    record EventTransaction(String type, String status, String amount, String currency, String timestamp) {}

    record CardBalance(String fiatAmount, String fiatCurrency) {}

    record CardTransactionEvent(String eventId, String eventName, String cardId, EventUser user,
                                PurchaseTransaction transaction) {}

    record PurchaseTransaction(String type, String status, String amount, String currency, String localAmount,
                               String localCurrency, String fxRate, String mcc, String merchant, String declineReason,
                               String timestamp) {}
}
