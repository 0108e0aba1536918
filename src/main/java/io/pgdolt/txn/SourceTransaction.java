package io.pgdolt.txn;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One committed transaction of the primary, complete and in source order: the unit that becomes
 * exactly one replica transaction and one Dolt commit.
 *
 * <p>A transaction is either inline (its changes are here) or, when it outgrew one chunk, staged:
 * its changes were written to the replica's staging table chunk by chunk while it was still open
 * (see {@link TransactionAssembler}), and this value only refers to them, so that neither the
 * checkpointed committable nor the committer's memory grows with the transaction.
 *
 * @param xid the primary's 32-bit transaction id (it wraps; never use it for ordering)
 * @param commitLsn the LSN of the transaction's commit record: orders transactions and is what the
 *     replica records as applied
 * @param commitTime the source commit time (microsecond precision)
 * @param changes the row changes in the order the primary made them; empty when staged
 * @param staged where the changes of a staged transaction are, or {@code null} when inline
 */
public record SourceTransaction(
        long xid, Lsn commitLsn, Instant commitTime, List<RowChange> changes, Staged staged) {

    public SourceTransaction {
        Objects.requireNonNull(commitLsn, "commitLsn");
        Objects.requireNonNull(commitTime, "commitTime");
        changes = List.copyOf(changes);
        if (staged != null && !changes.isEmpty()) {
            throw new IllegalArgumentException("a staged transaction carries no inline changes");
        }
    }

    /** An inline transaction. */
    public SourceTransaction(long xid, Lsn commitLsn, Instant commitTime, List<RowChange> changes) {
        this(xid, commitLsn, commitTime, changes, null);
    }

    /**
     * The changes of a staged transaction: chunks {@code 0 .. chunks - 1} in the replica's staging
     * table under this pipeline, the xid and {@code prevCommitLsn} (the assembler's key).
     *
     * @param prevCommitLsn the commit LSN of the transaction before it in the stream (the second
     *     half of the transaction's key)
     * @param chunks how many chunks were staged
     * @param changeCount how many row changes they hold in all
     * @param schemaChanges the transaction's schema changes (also in the chunks, in place), which
     *     are prepared before any row is applied
     */
    public record Staged(
            long prevCommitLsn, int chunks, long changeCount, List<RowChange> schemaChanges) {
        public Staged {
            if (chunks < 1 || changeCount < 0) {
                throw new IllegalArgumentException(
                        "staged transaction with "
                                + chunks
                                + " chunks, "
                                + changeCount
                                + " changes");
            }
            schemaChanges = List.copyOf(schemaChanges);
        }
    }

    /** Whether the changes are in the replica's staging table rather than here. */
    public boolean isStaged() {
        return staged != null;
    }

    /** How many row changes the transaction holds, inline or staged. */
    public long changeCount() {
        return staged == null ? changes.size() : staged.changeCount();
    }

    /** The same transaction header with {@code chunk} as its (inline) changes. */
    public SourceTransaction withChanges(List<RowChange> chunk) {
        return new SourceTransaction(xid, commitLsn, commitTime, chunk, null);
    }

    @Override
    public String toString() {
        return "xid "
                + xid
                + " at LSN "
                + commitLsn
                + " ("
                + changeCount()
                + (staged == null
                        ? " changes)"
                        : " changes, staged in " + staged.chunks() + " chunks)");
    }
}
