package dev.mercuryobridge.db;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;

/**
 * Runs a unit of work in one database transaction, and runs it again (up to three times in all)
 * when a second try can succeed: PostgreSQL aborted it for a deadlock or serialization failure,
 * the connection turned out to be dead (after a database restart, a new one may be fine), or the
 * work itself found a concurrent write it must not overwrite ({@link ConcurrentWriteException}).
 * Nothing of an aborted transaction remains, and the work must be idempotent.
 *
 * <p>Not retried: a pool timeout (the database is down; the caller answers 503 now) and a lock
 * or statement timeout (the lock or the load is still there; the caller answers 503 and Mercuryo
 * comes back later).
 */
public final class Transactions {
    private static final Logger log = LoggerFactory.getLogger(Transactions.class);
    static final int MAX_ATTEMPTS = 3;

    /** Thrown by work that found a row written concurrently since it looked: the transaction runs again. */
    public static class ConcurrentWriteException extends RuntimeException {
        public ConcurrentWriteException(String message) {
            super(message);
        }
    }

    private final DSLContext dsl;
    private final FailsafeExecutor<Object> retrying;

    public Transactions(DSLContext dsl) {
        this.dsl = dsl;
        this.retrying = Failsafe.with(RetryPolicy.builder()
                .handleIf(Transactions::worthAnotherTry)
                .withMaxAttempts(MAX_ATTEMPTS)
                .onRetry(e -> log.info("transaction aborted ({}), attempt {} of {}",
                        e.getLastException().getMessage(), e.getAttemptCount() + 1, MAX_ATTEMPTS))
                .build());
    }

    public <T> T run(Function<DSLContext, T> work) {
        return retrying.get(() -> dsl.transactionResult(c -> work.apply(c.dsl())));
    }

    static boolean worthAnotherTry(Throwable e) {
        return !DatabaseErrors.isTimeout(e)
                && (e instanceof ConcurrentWriteException || DatabaseErrors.isRetryable(e)
                    || DatabaseErrors.isBrokenConnection(e));
    }
}
