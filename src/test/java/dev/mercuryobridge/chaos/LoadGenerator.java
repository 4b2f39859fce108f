package dev.mercuryobridge.chaos;

import dev.mercuryobridge.ingest.SignatureVerifier;
import dev.mercuryobridge.testing.Callbacks;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Steady signed-callback load, as Mercuryo sends it, to one or more service instances on
 * 127.0.0.1. Each worker plays one transaction (or one Spend Card) at a time: its callbacks in
 * order, the next only after the previous was answered 200, and every non-200 answer or failed
 * connection sent again after a backoff (Mercuryo retries until it gets 200). Now and then an
 * earlier callback of the same transaction or card is sent again after its 200: a duplicate.
 *
 * <p>Bounded: a rate limit (callbacks per second, retries and duplicates included), a cap on the
 * total number of requests, and phases that end on request.
 */
final class LoadGenerator implements AutoCloseable {
    /** Status sequences per transaction type, in Mercuryo's order. */
    private static final List<String[]> SCRIPTS = List.of(
            new String[] {"buy", "new", "pending", "order_scheduled", "paid"},
            new String[] {"buy", "new", "pending", "cancelled"},
            new String[] {"sell", "new", "pending", "succeeded"},
            new String[] {"withdraw", "new", "pending", "order_scheduled", "completed"},
            new String[] {"deposit", "new", "completed"});
    private static final String[] CARD_STATUSES = {"active", "frozen", "active", "blocked"};

    private final String signKey;
    private final int workers;
    private final double spendCardShare;
    private final double duplicateShare;
    private final long maxRequests;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong roundRobin = new AtomicLong();
    /** Send time of the latest attempt that was answered 200. */
    private final AtomicLong latestOkSentNanos = new AtomicLong(Long.MIN_VALUE);
    /** First 200 of each callback, in the order they came, for whoever watches Kafka catch up. */
    private final ConcurrentLinkedQueue<Sent> acks = new ConcurrentLinkedQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile List<URI> targets;
    private volatile double ratePerSecond;
    private volatile Phase phase;
    private volatile boolean closed;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Object pacer = new Object();
    private long nextSlotNanos = System.nanoTime();

    LoadGenerator(String signKey, List<URI> targets, double ratePerSecond, int workers, double spendCardShare,
                  double duplicateShare, long maxRequests) {
        this.signKey = signKey;
        this.targets = List.copyOf(targets);
        this.ratePerSecond = ratePerSecond;
        this.workers = workers;
        this.spendCardShare = spendCardShare;
        this.duplicateShare = duplicateShare;
        this.maxRequests = maxRequests;
    }

    /** One distinct callback of a phase and what came of it. */
    static final class Sent {
        final ChaosChecks.Callback callback;
        final byte[] body;
        final String signature;
        volatile long ackNanos;

        Sent(ChaosChecks.Callback callback, byte[] body, String signature) {
            this.callback = callback;
            this.body = body;
            this.signature = signature;
        }
    }

    /** The load of one fault: its callbacks and how they were answered. */
    static final class Phase {
        final String name;
        final String prefix;
        final ConcurrentLinkedQueue<Sent> sent = new ConcurrentLinkedQueue<>();
        final Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
        final AtomicInteger duplicatesSent = new AtomicInteger();
        final AtomicInteger nextEntity = new AtomicInteger();
        final CountDownLatch workersDone;
        volatile boolean stopping;
        volatile long giveUpNanos = Long.MAX_VALUE;

        Phase(String name, String prefix, int workers) {
            this.name = name;
            this.prefix = prefix;
            this.workersDone = new CountDownLatch(workers);
        }

        /** Answers by kind: "200", "503", … and "io" for a connection that failed. */
        Map<String, Integer> answerCounts() {
            Map<String, Integer> m = new TreeMap<>();
            answers.forEach((k, v) -> m.put(k, v.get()));
            return m;
        }

        List<ChaosChecks.Callback> callbacks() {
            return sent.stream().map(s -> s.callback.withAcked(s.ackNanos != 0)).toList();
        }
    }

    /** Starts the load of a new phase; every entity id starts with {@code prefix}. */
    synchronized Phase start(String name, String prefix) {
        if (phase != null) {
            throw new IllegalStateException("phase " + phase.name + " is still running");
        }
        Phase p = new Phase(name, prefix, workers);
        phase = p;
        for (int w = 0; w < workers; w++) {
            Thread t = Thread.ofPlatform().name("load-" + name + "-" + w).daemon().start(() -> work(p));
            threads.add(t);
        }
        return p;
    }

    /**
     * Ends the phase: no new callback is started; those under way are sent until answered 200,
     * for at most {@code grace}; whatever is still unanswered then is given up (and reported).
     */
    synchronized void stop(Phase p, Duration grace) throws InterruptedException {
        p.stopping = true;
        p.giveUpNanos = System.nanoTime() + grace.toNanos();
        p.workersDone.await();
        threads.clear();
        phase = null;
    }

    void targets(List<URI> bases) {
        this.targets = List.copyOf(bases);
    }

    void rate(double perSecond) {
        this.ratePerSecond = perSecond;
    }

    long latestOkSentNanos() {
        return latestOkSentNanos.get();
    }

    /** Callbacks answered 200 since the last call, in the order of their first 200. */
    List<Sent> takeAcks() {
        List<Sent> out = new ArrayList<>();
        for (Sent s; (s = acks.poll()) != null; ) {
            out.add(s);
        }
        return out;
    }

    long requests() {
        return requests.get();
    }

    /** What stopped a worker (e.g. the request cap), or null. */
    Throwable failure() {
        return failure.get();
    }

    private void work(Phase p) {
        try {
            while (!p.stopping && !closed) {
                int n = p.nextEntity.getAndIncrement();
                SplittableRandom random = new SplittableRandom(p.prefix.hashCode() * 1_000_003L + n);
                if (random.nextDouble() < spendCardShare) {
                    card(p, n, random);
                } else {
                    transaction(p, n, random);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            failure.compareAndSet(null, e);
        } finally {
            p.workersDone.countDown();
        }
    }

    private void transaction(Phase p, int n, SplittableRandom random) throws InterruptedException {
        String[] script = SCRIPTS.get(random.nextInt(SCRIPTS.size()));
        String id = p.prefix + "tx-" + n;
        List<Sent> done = new ArrayList<>();
        for (int step = 1; step < script.length && !p.stopping; step++) {
            String body = Callbacks.transaction(id, script[0], script[step], 1_700_000_000L + step * 60L);
            Sent s = sent(p, new ChaosChecks.Callback(ChaosChecks.Route.TRANSACTION, id, step, script[step], null,
                    "transaction/" + id + "/" + step, sha256(body), false), body);
            if (!deliver(p, s, false)) {
                return;
            }
            done.add(s);
            maybeDuplicate(p, done, random);
        }
    }

    private void card(Phase p, int n, SplittableRandom random) throws InterruptedException {
        String cardId = p.prefix + "card-" + n;
        String userUuid = new UUID(random.nextLong(), random.nextLong()).toString();
        List<Sent> done = new ArrayList<>();
        int events = 1 + random.nextInt(CARD_STATUSES.length);
        for (int step = 1; step <= events && !p.stopping; step++) {
            String eventId = new UUID(random.nextLong(), random.nextLong()).toString();
            String body = Callbacks.cardStatusEvent(eventId, cardId, CARD_STATUSES[step - 1], userUuid);
            Sent s = sent(p, new ChaosChecks.Callback(ChaosChecks.Route.SPEND_CARD, cardId, step, CARD_STATUSES[step - 1],
                    eventId, "spend-card/" + eventId, sha256(body), false), body);
            if (!deliver(p, s, false)) {
                return;
            }
            done.add(s);
            maybeDuplicate(p, done, random);
        }
    }

    private Sent sent(Phase p, ChaosChecks.Callback callback, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        Sent s = new Sent(callback, bytes, SignatureVerifier.sign(signKey, bytes));
        p.sent.add(s);
        return s;
    }

    /** Mercuryo sending an earlier callback of the same transaction or card again, after its 200. */
    private void maybeDuplicate(Phase p, List<Sent> done, SplittableRandom random) throws InterruptedException {
        if (random.nextDouble() < duplicateShare) {
            Sent again = done.get(random.nextInt(done.size()));
            p.duplicatesSent.incrementAndGet();
            deliver(p, again, true);
        }
    }

    /** Sends until answered 200 (true) or the phase gives up on it (false). */
    private boolean deliver(Phase p, Sent s, boolean duplicate) throws InterruptedException {
        long backoffMillis = 100;
        while (!closed && System.nanoTime() < p.giveUpNanos) {
            if (requests.incrementAndGet() > maxRequests) {
                throw new IllegalStateException("more than " + maxRequests + " requests: the load is bounded");
            }
            awaitSlot();
            List<URI> bases = targets;
            URI base = bases.get((int) Math.floorMod(roundRobin.getAndIncrement(), (long) bases.size()));
            String path = s.callback.route() == ChaosChecks.Route.TRANSACTION
                    ? Callbacks.TRANSACTION_PATH : Callbacks.SPEND_CARD_PATH;
            HttpRequest request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(15))
                    .header("Content-Type", "application/json").header("X-Signature", s.signature)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(s.body)).build();
            long sentAt = System.nanoTime();
            String answer;
            try {
                answer = String.valueOf(client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode());
            } catch (IOException e) {
                answer = "io";
            }
            p.answers.computeIfAbsent(answer, k -> new AtomicInteger()).incrementAndGet();
            if (answer.equals("200")) {
                latestOkSentNanos.accumulateAndGet(sentAt, Math::max);
                if (!duplicate && s.ackNanos == 0) {
                    s.ackNanos = System.nanoTime();
                    acks.add(s);
                }
                return true;
            }
            Thread.sleep(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, 2_000);
        }
        return false;
    }

    /** A simple pacer: one request per 1/rate seconds across all workers. */
    private void awaitSlot() throws InterruptedException {
        long wait;
        synchronized (pacer) {
            long now = System.nanoTime();
            long interval = (long) (1e9 / ratePerSecond);
            nextSlotNanos = Math.max(nextSlotNanos + interval, now);
            wait = nextSlotNanos - now;
        }
        if (wait > 0) {
            Thread.sleep(Duration.ofNanos(wait));
        }
    }

    static String sha256(String body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}
