package dev.mercuryobridge.simulator;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.mercuryobridge.json.Json;

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
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * A deterministic stretch of Mercuryo life: users open Spend Cards, top them up by selling
 * crypto (sell requests going new → pending → succeeded | failed) and pay with them (each
 * purchase AUTHORIZED then CLEARED, AUTHORIZED then REVERSED, or DECLINED). Everything (ids,
 * amounts, IPs, unix timestamps from the epoch, event ids, delivery faults) is drawn from one
 * seed, so the same config and epoch always yield an equal {@link Truth}.
 *
 * <p>Callbacks have the shapes of the API text and the reference README, nothing more:
 * <ul>
 *   <li>transaction callbacks ({@code POST /callbacks/mercuryo}), one per sell request status:
 *       {@code {"data":{id, type:"sell", status, amount, currency, fiat_amount, fiat_currency, fee,
 *       partner_fee, rate, payment_method:"spend_card_topup", merchant_transaction_id, created_at,
 *       updated_at, created_at_ts, updated_at_ts, user{email, uuid4}}}}; the {@code id} is the sell
 *       request id (assumed);</li>
 *   <li>Spend Card events ({@code POST /callbacks/mercuryo/spend-card}), each
 *       {@code {event_id, event_name, card_id, user{uuid4}, ...}} (event-level {@code card_id} and
 *       {@code user} are assumed): {@code card_status} with {@code status:"active"};
 *       {@code crypto_top_up} with {@code sell_request{id, merchant_transaction_id, status,
 *       fiat_amount, fee, crypto_amount, crypto_currency}} and {@code card_balance{fiat_amount,
 *       fiat_currency}} (the balance right after the top-up); {@code card_transaction} with
 *       {@code transaction{type, status, decline_reason, amount, currency, local_amount,
 *       local_currency, fx_rate, mcc, merchant, timestamp}}, {@code timestamp} being the
 *       authorization time (assumed), the same in every event of one purchase.</li>
 * </ul>
 *
 * <p>Money: a top-up credits the card with the sell request's {@code fiat_amount} (in the API
 * text's rates example {@code fiat_amount} is the subtotal the card gets, the fee comes on top),
 * as a {@code TOP_UP} ledger item stamped with the second the sell request succeeded. A purchase
 * debits the card when authorized; its ledger item (stamped with the authorization time) turns
 * CLEARED in place, or REVERSED in place with the amount restored; a declined one is a DECLINED
 * item that moves nothing. A reversal never spans a successful top-up of the same card (such a
 * purchase clears instead): no event says when a reversal happened, so nobody could tell whether
 * the top-up's {@code card_balance} already included it (see {@link Truth#expectedBalanceByEmail}).
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
     * @param reverseRate      share of purchases authorized and then reversed (the rest of the
     *                         authorized ones clear)
     * @param declineRate      share of purchases declined
     */
    public record Config(long seed, int users, int sellRequests, int purchasesPerUser, double dropRate,
                         double duplicateRate, double reorderRate, Duration maxDelay, double failRate,
                         double reverseRate, double declineRate) {
        public static final double DEFAULT_REVERSE_RATE = 0.10;
        public static final double DEFAULT_DECLINE_RATE = 0.10;

        public Config {
            if (users < 1 || sellRequests < 0 || purchasesPerUser < 0) {
                throw new IllegalArgumentException("users >= 1, sellRequests >= 0, purchasesPerUser >= 0");
            }
            for (double rate : new double[] {dropRate, duplicateRate, reorderRate, failRate, reverseRate, declineRate}) {
                if (rate < 0 || rate > 1) {
                    throw new IllegalArgumentException("rates are between 0 and 1: " + rate);
                }
            }
            if (reverseRate + declineRate > 1) {
                throw new IllegalArgumentException("reverseRate + declineRate must be <= 1");
            }
            if (maxDelay.isNegative()) {
                throw new IllegalArgumentException("maxDelay must be >= 0");
            }
        }

        /** With {@link #DEFAULT_REVERSE_RATE} reversed and {@link #DEFAULT_DECLINE_RATE} declined purchases. */
        public Config(long seed, int users, int sellRequests, int purchasesPerUser, double dropRate,
                      double duplicateRate, double reorderRate, Duration maxDelay, double failRate) {
            this(seed, users, sellRequests, purchasesPerUser, dropRate, duplicateRate, reorderRate, maxDelay, failRate,
                    DEFAULT_REVERSE_RATE, DEFAULT_DECLINE_RATE);
        }
    }

    /** The truth of a run and what the sender did. */
    public record Run(Truth truth, CallbackSender.Result result) {}

    /** Unix second all scenario timestamps count from unless told otherwise (2023-11-14T22:13:20Z). */
    public static final long EPOCH = 1_700_000_000L;

    static final String SELL = "sell";
    static final String SPEND_CARD_TOPUP = "spend_card_topup";
    static final String SUCCEEDED = "succeeded";
    static final String FAILED = "failed";
    static final String EUR = "EUR";
    static final String CARD_STATUS = "card_status";
    static final String CRYPTO_TOP_UP = "crypto_top_up";
    static final String CARD_TRANSACTION = "card_transaction";

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
    private static final String INSUFFICIENT_FUNDS = "Insufficient funds";
    private static final List<String> DECLINE_REASONS =
            List.of(INSUFFICIENT_FUNDS, "Do not honor", "Suspected fraud", "Transaction not permitted to cardholder");
    /** RFC 5737 documentation addresses users get: 203.0.113.1..254, 198.51.100.1..254. */
    private static final int IP_POOL = 508;

    private final Config config;
    private final long epoch;
    private final long lastSecond;
    private final List<Step> steps;
    private final Map<String, Integer> stepOfCallback;
    private final Truth truth;

    public Scenario(Config config) {
        this(config, EPOCH);
    }

    /**
     * A scenario whose timestamps start at {@code epoch} (unix seconds) instead of {@link #EPOCH},
     * e.g. a little before now. The scenario's length does not depend on the epoch; see
     * {@link #endingAt}.
     */
    public Scenario(Config config, long epoch) {
        this.config = config;
        this.epoch = epoch;
        Generator generator = new Generator(config, epoch);
        this.lastSecond = generator.last;
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

    /**
     * The scenario whose last change happens at {@code lastSecond} (unix seconds), e.g. now: every
     * timestamp is then in the past, as in callbacks from a real Mercuryo.
     */
    public static Scenario endingAt(Config config, long lastSecond) {
        long length = new Generator(config, 0).last;
        return new Scenario(config, lastSecond - length);
    }

    public Config config() {
        return config;
    }

    public Truth truth() {
        return truth;
    }

    /** The unix second the scenario counts from. */
    public long epoch() {
        return epoch;
    }

    /** The unix second of the scenario's last change. */
    public long lastSecond() {
        return lastSecond;
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
        String finalStatus() {
            return succeeds ? SUCCEEDED : FAILED;
        }
    }

    /** A purchase as planned: where, how much of the balance, and how it ends. */
    private record Purchase(Merchant merchant, BigDecimal spendShare, String outcome, String declineReason,
                            long settleAfter) {}

    /**
     * A change before times are made unique; {@code order} breaks ties stably. A SETTLE is
     * planned when its purchase is authorized, so it always comes after it.
     */
    private record Planned(long desiredAt, int order, Kind kind, CardUserRef user, Topup topup, String status,
                           Purchase purchase, CardTransaction authorized) {
        enum Kind { CARD_OPENED, SELL_STATUS, PURCHASE, SETTLE }
    }

    private static final class Generator {
        final Random random;
        final Map<String, CardUserRef> users = new LinkedHashMap<>();
        final Map<String, String> finalStatus = new LinkedHashMap<>();
        final Map<String, BigDecimal> balances = new LinkedHashMap<>();
        final Map<String, List<CardTransaction>> ledgers = new LinkedHashMap<>();
        final Map<String, Long> createdAt = new HashMap<>();
        final Map<String, Long> lastCreditAt = new HashMap<>();
        final Set<String> ids = new HashSet<>();
        final List<Step> steps = new ArrayList<>();
        final PriorityQueue<Planned> queue =
                new PriorityQueue<>(Comparator.comparingLong(Planned::desiredAt).thenComparingInt(Planned::order));
        int planned;
        long last;

        Generator(Config config, long epoch) {
            random = new Random(config.seed());
            List<CardUserRef> userList = new ArrayList<>();
            int ipOffset = random.nextInt(IP_POOL);
            for (int n = 1; n <= config.users(); n++) {
                CardUserRef user = new CardUserRef(uuid4().toString(), "user-" + n + "@sim.test", uniqueId(),
                        documentationIp((ipOffset + n - 1) % IP_POOL));
                userList.add(user);
                users.put(user.email(), user);
                balances.put(user.email(), new BigDecimal("0.00"));
                ledgers.put(user.email(), new ArrayList<>());
                plan(epoch + n, Planned.Kind.CARD_OPENED, user, null, null, null, null);
            }
            long start = epoch + config.users() + 60;
            long window = Math.max(3_600, config.sellRequests() * 30L);
            Map<String, Long> firstCredit = new HashMap<>();
            for (int k = 0; k < config.sellRequests(); k++) {
                Topup t = topup(userList.get(random.nextInt(userList.size())), config.failRate(), start, window);
                finalStatus.put(t.id(), t.finalStatus());
                plan(t.createdAt(), Planned.Kind.SELL_STATUS, t.user(), t, "new", null, null);
                plan(t.pendingAt(), Planned.Kind.SELL_STATUS, t.user(), t, "pending", null, null);
                plan(t.finalAt(), Planned.Kind.SELL_STATUS, t.user(), t, t.finalStatus(), null, null);
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
                    double outcome = random.nextDouble();
                    String ends = outcome < config.declineRate() ? CardTransaction.DECLINED
                            : outcome < config.declineRate() + config.reverseRate() ? CardTransaction.REVERSED
                            : CardTransaction.CLEARED;
                    String reason = DECLINE_REASONS.get(random.nextInt(DECLINE_REASONS.size()));
                    long settleAfter = 30 + random.nextInt(1_800);
                    plan(credited + 1 + random.nextLong(window), Planned.Kind.PURCHASE, user, null, null,
                            new Purchase(merchant, share, ends, reason, settleAfter), null);
                }
            }
            long previous = Long.MIN_VALUE;
            for (Planned p = queue.poll(); p != null; p = queue.poll()) {
                // Unique, increasing seconds: each sell request's statuses stay strictly ordered,
                // and no two ledger items share a timestamp (they have no id to tell them apart).
                long at = Math.max(p.desiredAt(), previous + 1);
                previous = at;
                Step step = switch (p.kind()) {
                    case CARD_OPENED -> cardOpened(p.user(), at);
                    case SELL_STATUS -> sellStatus(p.topup(), p.status(), at);
                    case PURCHASE -> purchase(p.user(), p.purchase(), at);
                    case SETTLE -> settle(p.user(), p.purchase(), p.authorized(), at);
                };
                if (step != null) {
                    steps.add(step);
                }
            }
            last = previous;
        }

        private void plan(long desiredAt, Planned.Kind kind, CardUserRef user, Topup topup, String status,
                          Purchase purchase, CardTransaction authorized) {
            queue.add(new Planned(desiredAt, planned++, kind, user, topup, status, purchase, authorized));
        }

        private Topup topup(CardUserRef user, double failRate, long start, long window) {
            String id = uniqueId();
            String merchantTransactionId = "sim-" + uniqueId();
            boolean btc = random.nextBoolean();
            BigDecimal rate = btc
                    ? BigDecimal.valueOf(2_300_000 + random.nextInt(400_000), 2)
                    : BigDecimal.valueOf(150_000 + random.nextInt(50_000), 2);
            // fiat_amount is what the card gets (25.70..500.00 EUR); the crypto sold also covers the fee.
            BigDecimal fiat = BigDecimal.valueOf(2_570 + random.nextInt(47_431), 2);
            BigDecimal fee = fiat.multiply(new BigDecimal("0.0125")).setScale(2, RoundingMode.HALF_UP)
                    .max(new BigDecimal("0.50"));
            BigDecimal crypto = fiat.add(fee).divide(rate, 8, RoundingMode.UP);
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
            String body = json(new CardStatusEvent(eventId, CARD_STATUS, user.cardId(),
                    new EventUser(user.userUuid()), MercuryoSimulator.CARD_ACTIVE));
            SimCallback callback = new SimCallback(CARD_STATUS + ":" + eventId, SimCallback.Kind.CARD_STATUS, null,
                    user.cardId(), MercuryoSimulator.CARD_ACTIVE, false, at, null, null, body);
            return new Step(sim -> sim.addUser(user.email(), user.userUuid(), user.cardId(), user.ip()), List.of(callback));
        }

        private Step sellStatus(Topup t, String status, long at) {
            CardUserRef user = t.user();
            if ("new".equals(status)) {
                createdAt.put(t.id(), at);
            }
            long created = createdAt.get(t.id());
            boolean isFinal = status.equals(t.finalStatus());
            String txBody = json(new TransactionCallback(new TransactionData(t.id(), SELL, status,
                    MercuryoSimulator.crypto(t.cryptoAmount()), t.currency(), MercuryoSimulator.money(t.fiatAmount()), EUR,
                    MercuryoSimulator.money(t.fee()), "0.00", t.rate().toPlainString(), SPEND_CARD_TOPUP,
                    t.merchantTransactionId(), time(created), time(at), created, at,
                    new TransactionUser(user.email(), user.userUuid()))));
            SimCallback transaction = new SimCallback("transaction:" + t.id() + ":" + status, SimCallback.Kind.TRANSACTION,
                    t.id(), user.cardId(), status, isFinal, at, null, null, txBody);
            if ("new".equals(status)) {
                SellRequest request = new SellRequest(t.id(), user.userUuid(), user.cardId(), status, t.cryptoAmount(),
                        t.currency(), t.fiatAmount(), EUR, t.address(), t.merchantTransactionId());
                return new Step(sim -> sim.createSellRequest(request), List.of(transaction));
            }
            if (!isFinal || !t.succeeds()) {
                return new Step(sim -> sim.setSellRequestStatus(t.id(), status), List.of(transaction));
            }
            CardTransaction credit = new CardTransaction(CardTransaction.TOP_UP, CardTransaction.CLEARED, t.fiatAmount(), EUR,
                    "Crypto top-up " + t.currency(), Instant.ofEpochSecond(at));
            ledgers.get(user.email()).add(credit);
            BigDecimal balance = balances.compute(user.email(), (e, b) -> b.add(credit.amount()));
            lastCreditAt.put(user.email(), at);
            String eventId = uuid4().toString();
            String eventBody = json(new CryptoTopUpEvent(eventId, CRYPTO_TOP_UP, user.cardId(), new EventUser(user.userUuid()),
                    new EventSellRequest(t.id(), t.merchantTransactionId(), SUCCEEDED, MercuryoSimulator.money(t.fiatAmount()),
                            MercuryoSimulator.money(t.fee()), MercuryoSimulator.crypto(t.cryptoAmount()), t.currency()),
                    new CardBalance(MercuryoSimulator.money(balance), EUR)));
            SimCallback event = new SimCallback(CRYPTO_TOP_UP + ":" + eventId, SimCallback.Kind.CRYPTO_TOP_UP, t.id(),
                    user.cardId(), SUCCEEDED, true, at, credit, balance, eventBody);
            return new Step(sim -> {
                sim.setSellRequestStatus(t.id(), status);
                sim.postCardTransaction(user.email(), credit);
            }, List.of(transaction, event));
        }

        /** The authorization (or the decline) of a purchase; an authorized one is settled later. */
        private Step purchase(CardUserRef user, Purchase p, long at) {
            BigDecimal balance = balances.get(user.email());
            BigDecimal amount = balance.multiply(p.spendShare()).setScale(2, RoundingMode.DOWN).max(new BigDecimal("0.01"));
            Instant timestamp = Instant.ofEpochSecond(at);
            if (CardTransaction.DECLINED.equals(p.outcome())) {
                BigDecimal asked = INSUFFICIENT_FUNDS.equals(p.declineReason()) ? balance.add(amount) : amount;
                CardTransaction declined = new CardTransaction(CardTransaction.PURCHASE, CardTransaction.DECLINED, asked,
                        EUR, p.merchant().name(), timestamp);
                ledgers.get(user.email()).add(declined);
                return new Step(sim -> sim.decline(user.email(), declined),
                        List.of(cardTransactionEvent(user, p, declined, at)));
            }
            if (amount.compareTo(balance) > 0) {
                return null; // the card is empty: nothing to spend
            }
            CardTransaction authorized = new CardTransaction(CardTransaction.PURCHASE, CardTransaction.AUTHORIZED, amount,
                    EUR, p.merchant().name(), timestamp);
            ledgers.get(user.email()).add(authorized);
            balances.compute(user.email(), (e, b) -> b.subtract(amount));
            plan(at + p.settleAfter(), Planned.Kind.SETTLE, user, null, null, p, authorized);
            return new Step(sim -> sim.authorize(user.email(), authorized),
                    List.of(cardTransactionEvent(user, p, authorized, at)));
        }

        private Step settle(CardUserRef user, Purchase p, CardTransaction authorized, long at) {
            Long credited = lastCreditAt.get(user.email());
            boolean spansTopUp = credited != null && credited > authorized.timestamp().getEpochSecond();
            String status = CardTransaction.REVERSED.equals(p.outcome()) && !spansTopUp
                    ? CardTransaction.REVERSED : CardTransaction.CLEARED;
            CardTransaction settled = authorized.withStatus(status);
            List<CardTransaction> ledger = ledgers.get(user.email());
            ledger.set(ledger.indexOf(authorized), settled);
            if (CardTransaction.REVERSED.equals(status)) {
                balances.compute(user.email(), (e, b) -> b.add(authorized.amount()));
            }
            SimCallback event = cardTransactionEvent(user, p, settled, at);
            return new Step(sim -> {
                if (CardTransaction.REVERSED.equals(status)) {
                    sim.reverse(user.email(), authorized);
                } else {
                    sim.clear(user.email(), authorized);
                }
            }, List.of(event));
        }

        private SimCallback cardTransactionEvent(CardUserRef user, Purchase p, CardTransaction item, long at) {
            String eventId = uuid4().toString();
            Merchant merchant = p.merchant();
            String declineReason = CardTransaction.DECLINED.equals(item.status()) ? p.declineReason() : null;
            String body = json(new CardTransactionEvent(eventId, CARD_TRANSACTION, user.cardId(), new EventUser(user.userUuid()),
                    new PurchaseTransaction(item.type(), item.status(), declineReason, MercuryoSimulator.money(item.amount()),
                            item.currency(), MercuryoSimulator.money(item.amount().multiply(merchant.fxRate())),
                            merchant.currency(), merchant.fxRate().toPlainString(), merchant.mcc(), merchant.name(),
                            item.timestamp().toString())));
            return new SimCallback(CARD_TRANSACTION + ":" + eventId, SimCallback.Kind.CARD_TRANSACTION, null,
                    user.cardId(), item.status(), false, at, item, null, body);
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

    private static String documentationIp(int n) {
        return n < 254 ? "203.0.113." + (n + 1) : "198.51.100." + (n - 253);
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
    // nulls included (decline_reason is an explicit null unless declined).

    record TransactionCallback(TransactionData data) {}

    record TransactionData(String id, String type, String status, String amount, String currency, String fiatAmount,
                           String fiatCurrency, String fee, String partnerFee, String rate, String paymentMethod,
                           String merchantTransactionId, String createdAt, String updatedAt, long createdAtTs,
                           long updatedAtTs, TransactionUser user) {}

    record TransactionUser(String email, String uuid4) {}

    record EventUser(String uuid4) {}

    record CardStatusEvent(String eventId, String eventName, String cardId, EventUser user, String status) {}

    record CryptoTopUpEvent(String eventId, String eventName, String cardId, EventUser user, EventSellRequest sellRequest,
                            CardBalance cardBalance) {}

    record EventSellRequest(String id, String merchantTransactionId, String status, String fiatAmount, String fee,
                            String cryptoAmount, String cryptoCurrency) {}

    record CardBalance(String fiatAmount, String fiatCurrency) {}

    record CardTransactionEvent(String eventId, String eventName, String cardId, EventUser user,
                                PurchaseTransaction transaction) {}

    record PurchaseTransaction(String type, String status, String declineReason, String amount, String currency,
                               String localAmount, String localCurrency, String fxRate, String mcc, String merchant,
                               String timestamp) {}
}
