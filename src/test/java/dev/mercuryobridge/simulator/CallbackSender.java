package dev.mercuryobridge.simulator;

import dev.mercuryobridge.ingest.SignatureVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Posts simulated callbacks to the service the way Mercuryo does: signed ({@code X-Signature},
 * lowercase hex HMAC-SHA256 of the exact body bytes), retried on any answer but 200, and, per a
 * {@link #plan delivery plan} drawn from a seed, dropped, duplicated, reordered or delayed.
 *
 * <p>Only the configured base URL is ever contacted, and it must be a loopback address: this is a
 * test tool holding a real sign key.
 */
public final class CallbackSender implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CallbackSender.class);

    /**
     * How one callback is delivered.
     *
     * @param copies    0 = dropped (never sent), 1 = sent once, 2 = duplicated (sent twice)
     * @param reordered whether it was moved behind a newer callback (see {@link #plan})
     * @param delay     waited before sending it
     */
    public record Delivery(SimCallback callback, int copies, boolean reordered, Duration delay) {
        public Delivery {
            Objects.requireNonNull(callback, "callback");
            Objects.requireNonNull(delay, "delay");
            if (copies < 0 || copies > 2) {
                throw new IllegalArgumentException("copies must be 0, 1 or 2");
            }
        }

        public static Delivery once(SimCallback callback) {
            return new Delivery(callback, 1, false, Duration.ZERO);
        }

        public boolean dropped() {
            return copies == 0;
        }
    }

    /**
     * What a {@link #sendAll} did.
     *
     * @param planned         deliveries in the plan, dropped ones included
     * @param sent            callbacks posted (each at least once)
     * @param dropped         callbacks never posted
     * @param duplicated      callbacks posted twice
     * @param reordered       callbacks posted after a newer one
     * @param non200Answers   answers other than 200 (each was retried)
     * @param transportErrors attempts that got no answer (connection refused, timeout)
     * @param retries         attempts beyond the first of a copy
     * @param undelivered     "key: last problem" of every copy that never got a 200
     */
    public record Result(int planned, int sent, int dropped, int duplicated, int reordered,
                         int non200Answers, int transportErrors, int retries, List<String> undelivered) {}

    /**
     * @param maxInFlight   callbacks posted concurrently; callbacks about the same subject (sell
     *                      request, else card) are still posted one after the other, in plan order
     * @param maxAttempts   attempts per copy before it counts as undelivered
     * @param firstBackoff  wait before the first retry, doubling after each (Mercuryo's 60 s,
     *                      120 s, 240 s..., scaled down for tests)
     */
    public record Options(int maxInFlight, int maxAttempts, Duration firstBackoff, Duration requestTimeout) {
        public static final Options DEFAULT = new Options(8, 4, Duration.ofMillis(25), Duration.ofSeconds(10));

        public Options {
            if (maxInFlight < 1 || maxAttempts < 1) {
                throw new IllegalArgumentException("maxInFlight and maxAttempts must be >= 1");
            }
        }
    }

    private final URI baseUrl;
    private final String signKey;
    private final Options options;
    private final HttpClient http;

    public CallbackSender(URI baseUrl, String signKey) {
        this(baseUrl, signKey, Options.DEFAULT);
    }

    public CallbackSender(URI baseUrl, String signKey, Options options) {
        this.baseUrl = requireLoopback(baseUrl);
        this.signKey = Objects.requireNonNull(signKey, "signKey");
        this.options = options;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /**
     * Decides, deterministically from {@code seed}, how each callback (given in the order Mercuryo
     * emits them) is delivered, and returns the deliveries in sending order.
     *
     * <ul>
     *   <li>drop with {@code dropRate}; otherwise duplicate with {@code duplicateRate};</li>
     *   <li>reorder with {@code reorderRate}: the callback is moved right behind the next delivered
     *       callback of the same subject and kind (so an older status arrives after a newer one),
     *       or, when there is none (a final status), behind the next delivered callback;</li>
     *   <li>a delay of 0..maxDelay (whole milliseconds).</li>
     * </ul>
     * Every callback draws the same random numbers whatever the rates, so changing one rate does
     * not reshuffle the other decisions.
     */
    public static List<Delivery> plan(List<SimCallback> callbacks, long seed, double dropRate, double duplicateRate,
                                      double reorderRate, Duration maxDelay) {
        Random random = new Random(seed);
        long maxDelayMillis = maxDelay.toMillis();
        List<Planned> order = new ArrayList<>(callbacks.size());
        for (SimCallback callback : callbacks) {
            double drop = random.nextDouble();
            double duplicate = random.nextDouble();
            double reorder = random.nextDouble();
            long delay = random.nextLong(maxDelayMillis + 1);
            int copies = drop < dropRate ? 0 : duplicate < duplicateRate ? 2 : 1;
            order.add(new Planned(callback, copies, copies > 0 && reorder < reorderRate, Duration.ofMillis(delay)));
        }
        for (Planned p : List.copyOf(order)) {
            if (p.reordered) {
                moveBehindNewer(order, p);
            }
        }
        return order.stream().map(p -> new Delivery(p.callback, p.copies, p.reordered, p.delay)).toList();
    }

    private static void moveBehindNewer(List<Planned> order, Planned p) {
        int from = order.indexOf(p);
        int target = -1;
        for (int i = from + 1; i < order.size() && target < 0; i++) {
            Planned q = order.get(i);
            if (q.copies > 0 && q.callback.kind() == p.callback.kind() && q.callback.subject().equals(p.callback.subject())) {
                target = i;
            }
        }
        for (int i = from + 1; i < order.size() && target < 0; i++) {
            if (order.get(i).copies > 0) {
                target = i;
            }
        }
        if (target < 0) {
            p.reordered = false; // the last delivered callback has nothing to arrive after
            return;
        }
        order.remove(from);
        order.add(target, p); // target shifted down by one with the removal: lands right behind it
    }

    public Result sendAll(List<Delivery> deliveries) {
        return sendAll(deliveries, d -> { });
    }

    /**
     * Sends the deliveries in order, at most {@link Options#maxInFlight} at a time, and returns
     * when all are done. {@code beforeEach} runs on the calling thread, in order, before each
     * delivery is handed over (dropped ones included): the simulator uses it to change its state
     * just before Mercuryo would send the callback about the change.
     */
    public Result sendAll(List<Delivery> deliveries, Consumer<Delivery> beforeEach) {
        Tally tally = new Tally();
        Semaphore permits = new Semaphore(options.maxInFlight());
        Map<String, CompletableFuture<Void>> lastBySubject = new HashMap<>();
        List<CompletableFuture<Void>> all = new ArrayList<>();
        int sent = 0;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Delivery d : deliveries) {
                beforeEach.accept(d);
                if (d.dropped()) {
                    continue;
                }
                sent++;
                acquire(permits);
                CompletableFuture<Void> previous = lastBySubject.getOrDefault(d.callback().subject(), CompletableFuture.completedFuture(null));
                // A failure of the previous delivery must not stop this one; it is not lost
                // either: allOf below rethrows it.
                CompletableFuture<Void> next = previous.handle((v, e) -> null).thenRunAsync(() -> {
                    try {
                        deliver(d, tally);
                    } finally {
                        permits.release();
                    }
                }, pool);
                lastBySubject.put(d.callback().subject(), next);
                all.add(next);
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
        }
        List<String> undelivered = tally.undelivered.stream().sorted().toList();
        if (!undelivered.isEmpty()) {
            log.warn("{} callback copies never got a 200: {}", undelivered.size(), undelivered);
        }
        return new Result(deliveries.size(), sent,
                (int) deliveries.stream().filter(Delivery::dropped).count(),
                (int) deliveries.stream().filter(d -> d.copies() == 2).count(),
                (int) deliveries.stream().filter(Delivery::reordered).count(),
                tally.non200.get(), tally.transportErrors.get(), tally.retries.get(), undelivered);
    }

    /** One signed POST of the callback, no retry; returns the HTTP status. */
    public int post(SimCallback callback) throws IOException, InterruptedException {
        byte[] body = callback.body().getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(baseUrl.resolve(callback.path()))
                .timeout(options.requestTimeout())
                .header("Content-Type", "application/json")
                .header("X-Signature", SignatureVerifier.sign(signKey, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private void deliver(Delivery d, Tally tally) {
        try {
            if (!d.delay().isZero()) {
                Thread.sleep(d.delay().toMillis());
            }
            for (int copy = 0; copy < d.copies(); copy++) {
                deliverCopy(d.callback(), tally);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while delivering " + d.callback().key(), e);
        }
    }

    /** Like Mercuryo: anything but 200 (or no answer) is retried, with a doubling backoff. */
    private void deliverCopy(SimCallback callback, Tally tally) throws InterruptedException {
        long backoff = options.firstBackoff().toMillis();
        String problem = null;
        for (int attempt = 1; attempt <= options.maxAttempts(); attempt++) {
            if (attempt > 1) {
                tally.retries.incrementAndGet();
                Thread.sleep(backoff);
                backoff *= 2;
            }
            try {
                int status = post(callback);
                if (status == 200) {
                    return;
                }
                tally.non200.incrementAndGet();
                problem = "HTTP " + status;
            } catch (IOException e) {
                tally.transportErrors.incrementAndGet();
                problem = e.toString();
            }
        }
        tally.undelivered.add(callback.key() + ": " + problem);
    }

    private static void acquire(Semaphore permits) {
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending callbacks", e);
        }
    }

    private static URI requireLoopback(URI baseUrl) {
        if (!"http".equals(baseUrl.getScheme()) && !"https".equals(baseUrl.getScheme()) || baseUrl.getHost() == null) {
            throw new IllegalArgumentException("expected an http(s) base URL such as http://127.0.0.1:8080, got " + baseUrl);
        }
        try {
            if (!InetAddress.getByName(baseUrl.getHost()).isLoopbackAddress()) {
                throw new IllegalArgumentException("callbacks are only sent to a loopback address, not " + baseUrl.getHost());
            }
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("unknown host " + baseUrl.getHost(), e);
        }
        return baseUrl;
    }

    @Override
    public void close() {
        http.close();
    }

    /** A plan entry while reordering moves it around. */
    private static final class Planned {
        final SimCallback callback;
        final int copies;
        final Duration delay;
        boolean reordered;

        Planned(SimCallback callback, int copies, boolean reordered, Duration delay) {
            this.callback = callback;
            this.copies = copies;
            this.reordered = reordered;
            this.delay = delay;
        }
    }

    private static final class Tally {
        final AtomicInteger non200 = new AtomicInteger();
        final AtomicInteger transportErrors = new AtomicInteger();
        final AtomicInteger retries = new AtomicInteger();
        final ConcurrentLinkedQueue<String> undelivered = new ConcurrentLinkedQueue<>();
    }
}
