package dev.mercuryobridge.bench;

import dev.mercuryobridge.testing.TestDatabase;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mercuryobridge.json.Json;
import dev.mercuryobridge.simulator.CardTransaction;
import dev.mercuryobridge.simulator.CardUserRef;
import dev.mercuryobridge.simulator.MercuryoSimulator;
import dev.mercuryobridge.simulator.SellRequest;
import dev.mercuryobridge.testing.Callbacks;
import dev.mercuryobridge.testing.TestApp;
import dev.mercuryobridge.testing.TestKafka;

import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code make bench-reconcile}: how long one reconciliation run takes for many watched items,
 * with the real service, PostgreSQL and broker (embedded) against the Mercuryo simulator, all on
 * loopback and bounded in count.
 *
 * <p>Watched items = sell requests + card users = {@code items}. Every sell request is
 * {@code pending} in the service (a real signed callback) and {@code succeeded} at Mercuryo, so
 * the first run finds a missed callback for each and writes it through the callback path; each
 * card has a few ledger items. The second run has nothing new: the sell requests are final, only
 * the card users are checked (reads only).
 *
 * <p>Baseline, from the same process: as many plain sell-request-status calls to the simulator,
 * with the JDK HttpClient at the same concurrency: the cost of the API calls alone.
 *
 * <p>Arguments: {@code items=10000 users=100 concurrency=4}.
 */
public final class ReconcileBenchmark {
    private static final String PARTNER_TOKEN = "bench-partner-token";
    private static final int LEDGER_ITEMS_PER_CARD = 5;
    private static final int SETUP_THREADS = 8;
    private static final String USER_IP = "127.0.0.1";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public static void main(String[] args) throws Exception {
        TestDatabase.durable();
        System.out.println("PostgreSQL: " + TestDatabase.durability());
        Map<String, Integer> opts = BenchArgs.parse("ReconcileBenchmark", args, Map.of("items", 10_000, "users", 100, "concurrency", 4));
        int items = opts.get("items");
        int users = opts.get("users");
        int concurrency = opts.get("concurrency");
        if (users < 1 || items <= users || concurrency < 1 || concurrency > 64) {
            System.err.println("need items > users >= 1 and 1 <= concurrency <= 64");
            System.exit(2);
        }
        int sellRequests = items - users;
        long benchStart = System.nanoTime();
        System.out.printf("mercuryo-bridge reconcile benchmark: %d watched items (%d sell requests + %d card users), "
                + "RECONCILE_CONCURRENCY=%d%n", items, sellRequests, users, concurrency);

        boolean ok;
        TestKafka.shared();   // the one broker TestApp uses; stopped by its shutdown hook at exit
        try (MercuryoSimulator sim = MercuryoSimulator.start(0, PARTNER_TOKEN);
             TestApp app = TestApp.start(env(sim, concurrency))) {

            // ---- setup: users, their cards' ledgers, sell requests pending here / succeeded there
            long setupStart = System.nanoTime();
            List<CardUserRef> refs = new ArrayList<>();
            Instant t0 = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minusSeconds(users * 100L + 100);
            for (int u = 0; u < users; u++) {
                String email = "bench-" + u + "@sim.test";
                CardUserRef ref = sim.addUser(email);
                refs.add(ref);
                List<CardTransaction> ledger = new ArrayList<>();
                for (int k = 0; k < LEDGER_ITEMS_PER_CARD; k++) {
                    ledger.add(new CardTransaction(k == 0 ? CardTransaction.TOP_UP : CardTransaction.PURCHASE,
                            CardTransaction.CLEARED, new BigDecimal(k == 0 ? "100.00" : "5.00"), "EUR",
                            k == 0 ? null : "Shop " + k, t0.plusSeconds(u * 100L + k)));
                }
                sim.addCardTransactions(email, ledger);
                expectOk(app.adminJson("PUT", "/api/card-users/" + ref.userUuid(),
                                "{\"email\":\"" + email + "\",\"ip\":\"" + ref.ip() + "\"}"),
                        "PUT /api/card-users");
            }
            List<SellRequest> requests = new ArrayList<>(sellRequests);
            for (int i = 0; i < sellRequests; i++) {
                CardUserRef ref = refs.get(i % users);
                SellRequest r = sim.createSellRequest(ref.email(), "BTC", new BigDecimal("0.00010000"), new BigDecimal("10.00"));
                sim.setSellRequestStatus(r.id(), "succeeded");
                requests.add(r);
            }
            Map<String, CardUserRef> byUuid = new HashMap<>();
            refs.forEach(ref -> byUuid.put(ref.userUuid(), ref));
            ExecutorService setup = Executors.newFixedThreadPool(SETUP_THREADS);
            try {
                List<Future<?>> posted = new ArrayList<>(sellRequests);
                for (SellRequest r : requests) {
                    CardUserRef ref = byUuid.get(r.userUuid());
                    posted.add(setup.submit(() -> expectOk(app.postCallback(Callbacks.TRANSACTION_PATH,
                            pendingCallback(r.id(), ref)), "callback " + r.id())));
                }
                for (Future<?> f : posted) {
                    f.get(5, TimeUnit.MINUTES);
                }
            } finally {
                setup.shutdownNow();
            }
            System.out.printf("setup: %d users, %d ledger items, %d pending callbacks posted in %.1f s%n",
                    users, users * LEDGER_ITEMS_PER_CARD, sellRequests, seconds(System.nanoTime() - setupStart));

            // ---- baseline: the API calls alone (sign in once per user, then status calls)
            Map<String, String> tokens = signInAll(sim, refs);
            baseline(sim, requests, tokens, Math.min(1_000, items), concurrency);   // warm-up, not counted
            long baselineNanos = baseline(sim, requests, tokens, items, concurrency);

            // ---- run 1: every sell request is a missed callback
            sim.resetCounters();
            Run run1 = run(app);
            Map<String, Long> run1Calls = sim.requestCounts();
            // ---- run 2: nothing changed; only the card users are due
            sim.resetCounters();
            Run run2 = run(app);
            Map<String, Long> run2Calls = sim.requestCounts();

            System.out.println();
            System.out.printf("%-44s %10s %10s %10s %10s %8s%n", "", "seconds", "items/s", "checked", "findings", "errors");
            System.out.printf("%-44s %10.2f %10.0f %10d %10d %8d%n", "run 1 (every sell request a missed callback)",
                    run1.seconds(), run1.checked() / run1.seconds(), run1.checked(), run1.findings(), run1.errors());
            System.out.printf("%-44s %10.2f %10.0f %10d %10d %8d%n", "run 2 (nothing changed: card users only)",
                    run2.seconds(), run2.checked() / run2.seconds(), run2.checked(), run2.findings(), run2.errors());
            System.out.printf("%-44s %10.2f %10.0f %10d%n", "baseline: raw sell-request-status calls",
                    seconds(baselineNanos), items / seconds(baselineNanos), items);
            System.out.println();
            System.out.printf("ratio run 1 / baseline: %.1fx%n", run1.seconds() / seconds(baselineNanos));
            System.out.printf("run 1 wall time (admin call, ?wait=true): %.2f s; run 2: %.2f s%n", run1.wallSeconds(), run2.wallSeconds());
            System.out.println("API calls, run 1: " + shortNames(run1Calls));
            System.out.println("API calls, run 2: " + shortNames(run2Calls));

            List<String> problems = new ArrayList<>();
            if (run1.errors() != 0 || !"succeeded".equals(run1.status())) {
                problems.add("run 1 " + run1.status() + " with " + run1.errors() + " error(s): " + run1.errorDetail());
            }
            if (run1.checked() != items) {
                problems.add("run 1 checked " + run1.checked() + " items, expected " + items);
            }
            if (run1.findings() < sellRequests) {
                problems.add("run 1 raised " + run1.findings() + " findings, expected at least " + sellRequests);
            }
            if (run2.errors() != 0 || !"succeeded".equals(run2.status())) {
                problems.add("run 2 " + run2.status() + " with " + run2.errors() + " error(s): " + run2.errorDetail());
            }
            if (run2.checked() != users) {
                problems.add("run 2 checked " + run2.checked() + " items, expected " + users + " (the card users)");
            }
            problems.forEach(p -> System.out.println("FAILED: " + p));
            ok = problems.isEmpty();
        }
        System.out.printf("benchmark took %.0f s overall%n", seconds(System.nanoTime() - benchStart));
        System.exit(ok ? 0 : 1);
    }

    private static Map<String, String> env(MercuryoSimulator sim, int concurrency) {
        Map<String, String> env = new HashMap<>();
        env.put("MERCURYO_API_BASE_URL", sim.baseUrl().toString());
        env.put("MERCURYO_PARTNER_TOKEN", PARTNER_TOKEN);
        env.put("MERCURYO_API_TIMEOUT", "PT2S");
        env.put("RECONCILE_INTERVAL", "PT1H");   // no scheduled run during the benchmark
        env.put("RECONCILE_GRACE_PERIOD", "PT0S");
        env.put("RECONCILE_CONCURRENCY", Integer.toString(concurrency));
        return env;
    }

    private static String pendingCallback(String id, CardUserRef user) {
        return """
                {"data":{"id":"%s","type":"sell","status":"pending","payment_method":"spend_card_topup",\
                "fiat_amount":"10.00","fiat_currency":"EUR","updated_at_ts":1700000000,\
                "user":{"uuid4":"%s","email":"%s"}}}""".formatted(id, user.userUuid(), user.email());
    }

    private record Run(String status, int checked, int findings, int errors, double seconds, double wallSeconds,
                       String errorDetail) {}

    /** One reconciliation run through the admin API, waited for (the service waits up to 10 minutes). */
    private static Run run(TestApp app) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.app().adminPort()
                        + "/api/reconciliation/runs?wait=true"))
                .timeout(Duration.ofMinutes(11))
                .header("Authorization", "Bearer " + TestApp.ADMIN_TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build();
        long start = System.nanoTime();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        long wall = System.nanoTime() - start;
        expectOk(response, "POST /api/reconciliation/runs?wait=true");
        JsonNode run = Json.MAPPER.readTree(response.body());
        Instant started = Instant.parse(run.get("started_at").asText());
        Instant finished = Instant.parse(run.get("finished_at").asText());
        return new Run(run.get("status").asText(), run.get("items_checked").asInt(), run.get("findings").asInt(),
                run.get("errors").asInt(), Duration.between(started, finished).toNanos() / 1e9, wall / 1e9,
                run.path("error_detail").toString());
    }

    /** One sign-in per user, as the service's client does; returns e-mail -> Sdk-User-Token. */
    private static Map<String, String> signInAll(MercuryoSimulator sim, List<CardUserRef> refs) throws Exception {
        Map<String, String> tokens = new HashMap<>();
        for (CardUserRef ref : refs) {
            HttpRequest request = HttpRequest.newBuilder(sim.baseUrl().resolve(MercuryoSimulator.SIGN_IN))
                    .timeout(Duration.ofSeconds(10))
                    .header(MercuryoSimulator.PARTNER_TOKEN_HEADER, PARTNER_TOKEN)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"accept\":true,\"email\":\"" + ref.email() + "\"}"))
                    .build();
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            expectOk(response, "sign-in");
            tokens.put(ref.userUuid(), Json.MAPPER.readTree(response.body()).at("/data/bearer_token").asText());
        }
        return tokens;
    }

    /** {@code calls} sell-request-status calls (cycling over the sell requests) by {@code concurrency} threads. */
    private static long baseline(MercuryoSimulator sim, List<SellRequest> requests, Map<String, String> tokens,
                                 int calls, int concurrency) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<?>> workers = new ArrayList<>();
            long start = System.nanoTime();
            for (int w = 0; w < concurrency; w++) {
                workers.add(pool.submit(() -> {
                    for (int i; (i = next.getAndIncrement()) < calls; ) {
                        SellRequest r = requests.get(i % requests.size());
                        HttpRequest request = HttpRequest.newBuilder(sim.baseUrl().resolve(
                                        "/sdk-partner/spend/cards/sell-request/" + r.id() + "/status"))
                                .timeout(Duration.ofSeconds(10))
                                .header(MercuryoSimulator.USER_TOKEN_HEADER, tokens.get(r.userUuid()))
                                .header(MercuryoSimulator.USER_IP_HEADER, USER_IP)
                                .GET()
                                .build();
                        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
                        expectOk(response, "sell-request status " + r.id());
                        // Parsed, as the service's client does.
                        Json.MAPPER.readTree(response.body()).at("/data/status").asText();
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                f.get(10, TimeUnit.MINUTES);
            }
            return System.nanoTime() - start;
        } finally {
            pool.shutdownNow();
        }
    }

    private static void expectOk(HttpResponse<String> response, String what) {
        if (response.statusCode() != 200) {
            throw new IllegalStateException(what + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    private static Map<String, Long> shortNames(Map<String, Long> counts) {
        Map<String, Long> named = new java.util.TreeMap<>();
        counts.forEach((path, n) -> named.put(path.substring(path.lastIndexOf("/spend/cards/") >= 0
                ? path.indexOf("/spend/cards/") + "/spend/cards/".length() : path.lastIndexOf('/') + 1), n));
        return named;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
