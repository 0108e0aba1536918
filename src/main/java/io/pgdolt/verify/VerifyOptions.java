package io.pgdolt.verify;

import io.pgdolt.txn.TableId;
import java.time.Duration;
import java.util.List;

/**
 * What {@code verify} compares and how hard it tries.
 *
 * @param tables the tables to compare; empty for every replicated table
 * @param recheck how many times differing buckets are read again, each time after waiting for the
 *     replica; 0 reads them once more at once (to name the keys)
 * @param recheckWait the longest wait for the replica before each recheck
 * @param maxKeys differing keys listed per table
 * @param drillRows the most rows per server whose keys and hashes a recheck holds in memory; the
 *     differing buckets beyond it are reported by their row counts only
 */
record VerifyOptions(
        List<TableId> tables, int recheck, Duration recheckWait, int maxKeys, long drillRows) {
    static final int DEFAULT_RECHECK = 3;
    static final Duration DEFAULT_RECHECK_WAIT = Duration.ofSeconds(5);
    static final int DEFAULT_MAX_KEYS = 50;
    static final long DEFAULT_DRILL_ROWS = 100_000;

    VerifyOptions {
        tables = List.copyOf(tables);
        if (recheck < 0 || maxKeys < 1 || drillRows < 1 || recheckWait.isNegative()) {
            throw new IllegalArgumentException("invalid verify options");
        }
    }

    static VerifyOptions defaults() {
        return new VerifyOptions(
                List.of(),
                DEFAULT_RECHECK,
                DEFAULT_RECHECK_WAIT,
                DEFAULT_MAX_KEYS,
                DEFAULT_DRILL_ROWS);
    }
}
