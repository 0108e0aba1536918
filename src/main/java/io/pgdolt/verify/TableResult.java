package io.pgdolt.verify;

import java.util.List;

/**
 * The outcome for one table.
 *
 * @param primaryRows rows on the primary at the last pass (-1 when not compared)
 * @param replicaRows rows on the replica at the last pass (-1 when not compared)
 * @param listed the differences shown, at most {@code --max-keys}
 * @param unlisted further differing keys found but not shown
 * @param unexaminedBuckets differing buckets beyond the memory limit: their keys were not looked
 *     at, only their row counts
 * @param unexaminedPrimaryRows rows of those buckets on the primary
 * @param unexaminedReplicaRows rows of those buckets on the replica
 * @param resolvedOnRecheck the table differed at first and was equal when read again: changes the
 *     replica had not yet applied
 * @param note why the table was not compared, or null
 */
record TableResult(
        TableSpec spec,
        Status status,
        long primaryRows,
        long replicaRows,
        List<Difference> listed,
        long unlisted,
        int unexaminedBuckets,
        long unexaminedPrimaryRows,
        long unexaminedReplicaRows,
        boolean resolvedOnRecheck,
        String note) {

    /** Whether the table is equal, differs, or could not be compared. */
    enum Status {
        EQUAL,
        DIFFERENT,
        NOT_COMPARED
    }

    TableResult {
        listed = List.copyOf(listed);
    }

    static TableResult equal(TableSpec spec, long rows, boolean resolvedOnRecheck) {
        return new TableResult(
                spec, Status.EQUAL, rows, rows, List.of(), 0, 0, 0, 0, resolvedOnRecheck, null);
    }

    static TableResult notCompared(TableSpec spec, String why) {
        return new TableResult(
                spec, Status.NOT_COMPARED, -1, -1, List.of(), 0, 0, 0, 0, false, why);
    }

    /** Every differing key found (listed or not). */
    long differingKeys() {
        return listed.size() + unlisted;
    }
}
