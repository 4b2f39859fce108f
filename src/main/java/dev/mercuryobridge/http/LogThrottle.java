package dev.mercuryobridge.http;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;

/**
 * At most one log line per interval, for lines anyone on the network can cause (a wrong
 * signature, a failing readiness probe): a flood of them must not fill the disk. What it holds
 * back is counted, so the next line can say how many were left out; the metrics count them all.
 */
public final class LogThrottle {
    private final Clock clock;
    private final Duration interval;
    private Instant lastLine;
    private long heldBack;

    public LogThrottle(Clock clock, Duration interval) {
        this.clock = clock;
        this.interval = interval;
    }

    /**
     * Present when a line may be written now, with the number of lines held back since the last
     * one written; empty when this line is to be held back (and is counted).
     */
    public synchronized OptionalLong acquire() {
        Instant now = clock.instant();
        if (lastLine != null && now.isBefore(lastLine.plus(interval))) {
            heldBack++;
            return OptionalLong.empty();
        }
        long skipped = heldBack;
        heldBack = 0;
        lastLine = now;
        return OptionalLong.of(skipped);
    }

    /** " (N more in the last ...)" for a line written after N were held back; empty when none were. */
    public String suffix(long heldBack) {
        return heldBack == 0 ? "" : " (" + heldBack + " more like it since the last line, not logged)";
    }

    Duration interval() {
        return interval;
    }
}
