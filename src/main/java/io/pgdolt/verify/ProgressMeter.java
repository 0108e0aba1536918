package io.pgdolt.verify;

import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reports the rows read by a long pass, at most once per interval, to stderr. The two scans of a
 * pass count from their own threads; thread-safe.
 */
final class ProgressMeter {
    private final PrintStream err;
    private final long intervalNanos;
    private final AtomicLong primary = new AtomicLong();
    private final AtomicLong replica = new AtomicLong();
    private volatile String label = "";
    private volatile long started;
    private long lastPrint;

    ProgressMeter(PrintStream err, Duration interval) {
        this.err = err;
        this.intervalNanos = interval.toNanos();
    }

    /** Starts counting a new pass. */
    synchronized void begin(String what) {
        label = what;
        primary.set(0);
        replica.set(0);
        started = System.nanoTime();
        lastPrint = started;
    }

    void row(boolean onPrimary) {
        long n = (onPrimary ? primary : replica).incrementAndGet();
        if ((n & 4095) == 0) {
            maybePrint();
        }
    }

    private synchronized void maybePrint() {
        long now = System.nanoTime();
        if (now - lastPrint < intervalNanos) {
            return;
        }
        lastPrint = now;
        long p = primary.get();
        long r = replica.get();
        double seconds = Math.max(1e-3, (now - started) / 1e9);
        err.printf(
                "pgdolt verify: %s: %,d rows read on the primary, %,d on the replica (%,d"
                        + " rows/s)%n",
                label, p, r, (long) ((p + r) / seconds));
    }
}
