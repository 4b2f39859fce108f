package dev.mercuryobridge.outbox;

import org.apache.kafka.clients.producer.Callback;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Outbox rows read together, in id order, and what Kafka answered for each. The relay's thread
 * reads and sends them; the producer's thread records the answers and wakes the relay.
 */
final class Batch {
    private static final int WAITING = 0;
    private static final int ACKED = 1;
    private static final int FAILED = 2;

    final long[] ids;
    final String[] topics;
    final String[] keys;
    final String[] eventIds;
    final byte[][] payloads;
    final long[] createdAtMillis;
    /**
     * Unpublished rows up to the row after which this batch was read, in the same snapshot; -1
     * when not counted (no watched transaction had ended).
     */
    final long unpublishedBefore;
    /** Whether the read saw the mark that was running on the marker's session. */
    final boolean runningMarkSeen;
    /** Transactions running when the batch was read. */
    final long[] running;

    private final AtomicIntegerArray states;
    private final AtomicInteger unanswered;
    private final AtomicReference<Exception> failure = new AtomicReference<>();

    private Batch(long[] ids, String[] topics, String[] keys, String[] eventIds, byte[][] payloads,
                  long[] createdAtMillis, long unpublishedBefore, boolean runningMarkSeen, long[] running) {
        this.ids = ids;
        this.topics = topics;
        this.keys = keys;
        this.eventIds = eventIds;
        this.payloads = payloads;
        this.createdAtMillis = createdAtMillis;
        this.unpublishedBefore = unpublishedBefore;
        this.runningMarkSeen = runningMarkSeen;
        this.running = running;
        this.states = new AtomicIntegerArray(ids.length);
        this.unanswered = new AtomicInteger(ids.length);
    }

    /** Reads the rows of {@link RelaySession}'s batch query (at most {@code limit}). */
    static Batch from(ResultSet rs, int limit) throws SQLException {
        long[] ids = new long[limit];
        String[] topics = new String[limit];
        String[] keys = new String[limit];
        String[] eventIds = new String[limit];
        byte[][] payloads = new byte[limit][];
        long[] created = new long[limit];
        long before = -1;
        boolean seen = false;
        long[] running = new long[0];
        int n = 0;
        while (n < limit && rs.next()) {
            ids[n] = rs.getLong(1);
            topics[n] = rs.getString(2);
            keys[n] = rs.getString(3);
            eventIds[n] = rs.getString(4);
            payloads[n] = rs.getBytes(5);
            created[n] = rs.getLong(6);
            if (n == 0) {
                before = rs.getLong(7);
                seen = rs.getBoolean(8);
                Array xids = rs.getArray(9);
                if (xids != null) {
                    running = Arrays.stream((Long[]) xids.getArray()).mapToLong(Long::longValue).toArray();
                }
            }
            n++;
        }
        return new Batch(Arrays.copyOf(ids, n), Arrays.copyOf(topics, n), Arrays.copyOf(keys, n), Arrays.copyOf(eventIds, n),
                Arrays.copyOf(payloads, n), Arrays.copyOf(created, n), before, seen, running);
    }

    int size() {
        return ids.length;
    }

    long lastId() {
        return ids[ids.length - 1];
    }

    /**
     * The producer callback of row {@code i}: records the answer, reports the row's creation time on
     * acknowledgement, hands a failure to {@code onFailure} (on the thread that answered, before
     * the producer sends anything more) and wakes the relay when the batch is answered or a row
     * failed.
     */
    Callback answer(int i, LongConsumer ackedCreatedAtMillis, Semaphore progress, Consumer<Exception> onFailure) {
        return (metadata, exception) -> {
            if (exception == null) {
                states.set(i, ACKED);
                ackedCreatedAtMillis.accept(createdAtMillis[i]);
            } else {
                states.set(i, FAILED);
                failure.compareAndSet(null, exception);
                onFailure.accept(exception);
            }
            if (unanswered.decrementAndGet() == 0 || exception != null) {
                progress.release();
            }
        };
    }

    /** Rows from {@code i} on were never handed to the producer (sending stopped). */
    void notSent(int from, Exception why) {
        failure.compareAndSet(null, why);
        for (int i = from; i < ids.length; i++) {
            states.set(i, FAILED);
        }
        unanswered.addAndGet(from - ids.length);
    }

    /** Every row acknowledged. */
    boolean acknowledged() {
        return unanswered.get() == 0 && failure.get() == null;
    }

    /** Every row answered, acknowledged or not. */
    boolean answered() {
        return unanswered.get() == 0;
    }

    Exception failure() {
        return failure.get();
    }

    /** How many rows from the first are acknowledged: the most that may be marked after a failure. */
    int acknowledgedPrefix() {
        int n = 0;
        while (n < ids.length && states.get(n) == ACKED) {
            n++;
        }
        return n;
    }

    List<Long> idList(int n) {
        return Arrays.stream(ids, 0, n).boxed().toList();
    }
}
