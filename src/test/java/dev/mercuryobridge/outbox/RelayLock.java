package dev.mercuryobridge.outbox;

/** The relay's advisory lock as PostgreSQL lists it, and its batch size, for harnesses outside this package (the chaos suite). */
public final class RelayLock {
    /**
     * The session holding the lock: its {@code pid} and {@code application_name}, no row if none.
     * {@code pg_locks} shows a bigint advisory key as classid (high 32 bits), objid (low 32 bits)
     * and objsubid 1.
     */
    public static final String HOLDER_SQL = """
            select l.pid, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and l.objsubid = 1
              and l.classid::bigint = %d and l.objid::bigint = %d"""
            .formatted(RelaySession.LOCK_KEY >>> 32, RelaySession.LOCK_KEY & 0xffff_ffffL);

    /**
     * What a relay may still have in flight when it loses its lock: its batches in flight (read
     * and handed to the producer before the loss), each of the relay's batch size.
     */
    public static final int BATCH_SIZE = OutboxRelay.Settings.DEFAULTS.batchSize()
            * OutboxRelay.Settings.DEFAULTS.batchesInFlight();

    private RelayLock() {}
}
