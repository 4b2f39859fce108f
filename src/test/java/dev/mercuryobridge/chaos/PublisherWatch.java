package dev.mercuryobridge.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Samples, every 100 ms, which session holds the relay lock and how many messages one instance's
 * relay has published so far, to tell whether that instance published while another held the
 * lock. Whatever it published between two samples at which it held the lock at neither is counted
 * as published without it.
 */
final class PublisherWatch implements AutoCloseable {
    /** {@code holder}: the lock holder's application_name (null: nobody), or the call fails (sample skipped). */
    private record Sample(String holder, double published) {}

    private final String instance;
    private final Callable<String> holder;
    private final Callable<Double> published;
    private final List<Sample> samples = new ArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;

    /** Takes the first sample now, then samples in the background until closed. */
    PublisherWatch(String instance, Callable<String> holder, Callable<Double> published) {
        this.instance = instance;
        this.holder = holder;
        this.published = published;
        sample();
        this.thread = Thread.ofPlatform().name("publisher-watch").daemon().start(this::run);
    }

    private void run() {
        while (running) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            sample();
        }
    }

    private void sample() {
        try {
            Sample s = new Sample(holder.call(), published.call());
            synchronized (samples) {
                samples.add(s);
            }
        } catch (Exception e) {
            // The database or the instance did not answer this time: no sample.
        }
    }

    /** Messages the watched instance published between samples at which it held the lock at neither. */
    double publishedWithoutLock() {
        synchronized (samples) {
            return publishedWithoutLock(instance, samples.stream().map(Sample::holder).toList(),
                    samples.stream().map(Sample::published).toList());
        }
    }

    /** The same over given samples (holders, and the instance's published count at each). */
    static double publishedWithoutLock(String instance, List<String> holders, List<Double> published) {
        double without = 0;
        for (int i = 1; i < holders.size(); i++) {
            if (!instance.equals(holders.get(i - 1)) && !instance.equals(holders.get(i))) {
                without += published.get(i) - published.get(i - 1);
            }
        }
        return without;
    }

    int samples() {
        synchronized (samples) {
            return samples.size();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
    }
}
