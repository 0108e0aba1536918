package io.pgdolt.txn;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One committed transaction of the primary, complete and in source order: the unit that becomes
 * exactly one replica transaction and one Dolt commit.
 *
 * @param xid the primary's 32-bit transaction id (it wraps; never use it for ordering)
 * @param commitLsn the LSN of the transaction's commit record: orders transactions and is what the
 *     replica records as applied
 * @param commitTime the source commit time (microsecond precision)
 * @param changes the row changes in the order the primary made them
 */
public record SourceTransaction(
        long xid, Lsn commitLsn, Instant commitTime, List<RowChange> changes) {

    public SourceTransaction {
        Objects.requireNonNull(commitLsn, "commitLsn");
        Objects.requireNonNull(commitTime, "commitTime");
        changes = List.copyOf(changes);
    }

    @Override
    public String toString() {
        return "xid " + xid + " at LSN " + commitLsn + " (" + changes.size() + " changes)";
    }
}
