package io.pgdolt.verify;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;

/**
 * Compares the tables: a first pass over each, then rounds of rechecks of the tables that still
 * differ, each round after one wait for the replica to catch up (so a live primary's in-flight
 * changes are not reported), then the results. Not thread-safe.
 */
final class Verifier {
    private Verifier() {}

    static List<TableResult> run(
            List<TableSpec> tables,
            RowSource primary,
            RowSource replica,
            CatchUp catchUp,
            VerifyOptions options,
            ExecutorService pool,
            ProgressMeter meter)
            throws SQLException, InterruptedException {
        List<TableVerifier> verifiers = new ArrayList<>();
        for (TableSpec t : tables) {
            TableVerifier v = new TableVerifier(t, primary, replica, options, pool, meter);
            v.firstPass();
            verifiers.add(v);
        }
        // At least one recheck, which names the keys; with --recheck 0 it follows at once.
        int rounds = Math.max(1, options.recheck());
        for (int round = 1; round <= rounds; round++) {
            List<TableVerifier> differing =
                    verifiers.stream().filter(TableVerifier::differs).toList();
            if (differing.isEmpty()) {
                break;
            }
            if (options.recheck() > 0) {
                catchUp.await(options.recheckWait());
            }
            for (TableVerifier v : differing) {
                v.recheck();
            }
        }
        List<TableResult> results = new ArrayList<>();
        for (TableVerifier v : verifiers) {
            results.add(v.result());
        }
        return results;
    }
}
