package io.pgdolt.txn;

import java.util.Objects;

/**
 * An element of the change stream between the source and the transaction assembler: a row change of
 * a transaction, or the end of a transaction.
 *
 * <p>A transaction is identified by its xid together with {@code prevCommitLsn}, the commit LSN of
 * the transaction before it in the stream (every change of a transaction carries the same one, so
 * the pair stays unique across xid wraparound). {@code lsn} is the change's own LSN for a change
 * and the commit LSN for an end. {@code commitTimeMicros} is the source commit time (epoch µs).
 */
public record ChangeEvent(
        Kind kind,
        long xid,
        long prevCommitLsn,
        long lsn,
        long commitTimeMicros,
        RowChange change) {

    /** What the event says. */
    public enum Kind {
        CHANGE,
        END
    }

    public ChangeEvent {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.CHANGE) != (change != null)) {
            throw new IllegalArgumentException("a CHANGE event carries a row change, an END none");
        }
    }

    public static ChangeEvent change(
            long xid, long prevCommitLsn, long lsn, long commitTimeMicros, RowChange change) {
        return new ChangeEvent(Kind.CHANGE, xid, prevCommitLsn, lsn, commitTimeMicros, change);
    }

    /** End of the transaction {@code (xid, prevCommitLsn)}, committed at {@code commitLsn}. */
    public static ChangeEvent end(long xid, long prevCommitLsn, long commitLsn) {
        return new ChangeEvent(Kind.END, xid, prevCommitLsn, commitLsn, 0L, null);
    }

    public boolean isEnd() {
        return kind == Kind.END;
    }

    @Override
    public String toString() {
        return kind
                + " xid "
                + xid
                + " after "
                + Lsn.of(prevCommitLsn)
                + " at "
                + Lsn.of(lsn)
                + (change == null ? "" : " " + change);
    }
}
