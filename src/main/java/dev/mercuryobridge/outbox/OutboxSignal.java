package dev.mercuryobridge.outbox;

/**
 * Told after a commit that appended outbox rows, so that relays publish them now rather than at
 * their next poll. Signal only after the commit: a relay woken earlier would not see the rows.
 * A path that forgets to signal costs its rows the relay's poll interval, never a message.
 */
@FunctionalInterface
public interface OutboxSignal {
    void committed();

    OutboxSignal NONE = () -> {};
}
