package io.pgdolt.sink;

import io.pgdolt.txn.SourceTransaction;
import java.util.function.BiConsumer;
import org.apache.flink.annotation.VisibleForTesting;

/**
 * Test-only failure points of the committer, for proving exactly-once across failures at the worst
 * moments: right after a checkpoint completed but before its transactions are applied, and right
 * after the replica committed a transaction but before Flink learned of it. Does nothing unless a
 * test in the same JVM (MiniCluster) installs a hook.
 */
@VisibleForTesting
public final class FaultInjection {
    /** Point names passed to the hook. */
    public static final String BEFORE_APPLY = "before-apply";

    public static final String AFTER_APPLY = "after-apply";

    private static volatile BiConsumer<String, SourceTransaction> hook;

    private FaultInjection() {}

    /** Installs (or, with null, removes) the hook; it may throw to fail the committer. */
    public static void install(BiConsumer<String, SourceTransaction> h) {
        hook = h;
    }

    static void at(String point, SourceTransaction txn) {
        BiConsumer<String, SourceTransaction> h = hook;
        if (h != null) {
            h.accept(point, txn);
        }
    }
}
