package io.pgdolt.txn;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides where each source transaction ends, in source order, before the stream is keyed.
 *
 * <p>Only here is "the next transaction has started" visible: a keyed assembler never sees other
 * keys' events. A transaction ends at its END marker, or — should that marker not come — at the
 * first change of a different transaction, whose {@code prevCommitLsn} is the ended transaction's
 * commit LSN. Either way an explicit END, keyed like the transaction's changes, is sent on. END
 * markers of transactions with no change here are dropped: repeats after a restore (Debezium
 * replays the BEGIN/COMMIT of transactions that committed before the open one, even while it
 * filters their changes), and transactions without published changes.
 *
 * <p>Must run with parallelism 1, directly after the source. Its state, the transaction currently
 * open and the position of the last change it sent on for it, is checkpointed with the source
 * offset that produced it, so a restore continues the same transaction. The source may resume
 * before that position and send the open transaction's first changes again (seen after a restore: a
 * change sent twice made a replicated INSERT fail on its own row): until a change past the position
 * comes, the open transaction's changes at or before it are dropped, as the assembler holds them
 * already. Changes at one LSN (a multi-row insert) are told apart by their count.
 */
public final class TransactionBoundary extends ProcessFunction<ChangeEvent, ChangeEvent>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TransactionBoundary.class);

    private transient ListState<Tuple2<Long, Long>> openState;

    private transient ListState<Tuple2<Long, Long>> positionState;

    /** The open transaction (xid, prevCommitLsn), or null between transactions. */
    private transient Tuple2<Long, Long> open;

    /** LSN of the open transaction's last change sent on, and how many were sent at that LSN. */
    private transient long lastLsn;

    private transient long sentAtLastLsn;

    /**
     * Whether the open transaction was restored with its position and no change past it has come
     * yet: changes at or before the position are repeats.
     */
    private transient boolean replaying;

    private transient long repeatsAtLastLsn;

    private transient long repeatsDropped;

    private transient boolean firstAfterStart;

    @Override
    public void processElement(ChangeEvent e, Context ctx, Collector<ChangeEvent> out) {
        if (firstAfterStart) {
            firstAfterStart = false;
            LOG.info(
                    "first event after start: {} (open transaction: {})",
                    e,
                    open == null ? "none" : "xid " + open.f0 + " after " + Lsn.of(open.f1));
        }
        if (!e.isEnd()) {
            if (open != null && open.f0 == e.xid()) {
                if (replaying && isRepeat(e)) {
                    return;
                }
                sent(e.lsn());
                // The open transaction continues. Its key stays the one it opened with: after a
                // restore, Debezium's "previous commit LSN" can differ from what the first changes
                // carried (it replays the commits of earlier transactions).
                out.collect(
                        e.prevCommitLsn() == open.f1
                                ? e
                                : ChangeEvent.change(
                                        e.xid(),
                                        open.f1,
                                        e.lsn(),
                                        e.commitTimeMicros(),
                                        e.change()));
                return;
            }
            if (open != null) {
                long commitLsn = e.prevCommitLsn();
                if (Long.compareUnsigned(commitLsn, open.f1) <= 0) {
                    throw new IllegalStateException(
                            "transaction xid "
                                    + open.f0
                                    + " was followed by xid "
                                    + e.xid()
                                    + " without its END marker, and the previous commit LSN "
                                    + Lsn.of(commitLsn)
                                    + " the new one carries cannot be its commit (not after "
                                    + Lsn.of(open.f1)
                                    + ")");
                }
                LOG.warn(
                        "xid {} closed by the start of xid {} (no END marker), commit LSN {}",
                        open.f0,
                        e.xid(),
                        Lsn.of(commitLsn));
                out.collect(ChangeEvent.end(open.f0, open.f1, commitLsn));
            }
            endReplay();
            open = Tuple2.of(e.xid(), e.prevCommitLsn());
            lastLsn = e.lsn();
            sentAtLastLsn = 1;
            out.collect(e);
        } else if (open != null && open.f0 == e.xid()) {
            endReplay();
            out.collect(ChangeEvent.end(open.f0, open.f1, e.lsn()));
            open = null;
        } else if (open != null && Long.compareUnsigned(e.lsn(), open.f1) <= 0) {
            // After a restore Debezium replays BEGIN/COMMIT of transactions that committed
            // before the open one (their changes it filters): an END at or before the open
            // transaction's previous commit is such a repeat.
            LOG.debug("dropping repeated END of xid {} at {}", e.xid(), Lsn.of(e.lsn()));
        } else if (open != null) {
            throw new IllegalStateException(
                    "END of xid "
                            + e.xid()
                            + " (LSN "
                            + Lsn.of(e.lsn())
                            + ") arrived while xid "
                            + open.f0
                            + " was open: the open transaction's end was lost");
        } else {
            LOG.debug("dropping END of xid {}: no open transaction", e.xid());
        }
    }

    /**
     * Whether change {@code e} of the open transaction, restored with its position, is one sent on
     * before the checkpoint; the first change that is not ends the replay.
     */
    private boolean isRepeat(ChangeEvent e) {
        int c = Long.compareUnsigned(e.lsn(), lastLsn);
        if (c < 0 || (c == 0 && repeatsAtLastLsn < sentAtLastLsn)) {
            if (c == 0) {
                repeatsAtLastLsn++;
            }
            repeatsDropped++;
            return true;
        }
        endReplay();
        return false;
    }

    private void endReplay() {
        if (replaying && repeatsDropped > 0) {
            LOG.warn(
                    "the source sent {} change(s) of open xid {} again after the restore (up to"
                            + " LSN {}); dropped them, as they were sent on before the checkpoint",
                    repeatsDropped,
                    open.f0,
                    Lsn.of(lastLsn));
        }
        replaying = false;
    }

    /** Records that a change at {@code lsn} of the open transaction is sent on. */
    private void sent(long lsn) {
        if (lsn == lastLsn) {
            sentAtLastLsn++;
        } else {
            lastLsn = lsn;
            sentAtLastLsn = 1;
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        openState.clear();
        positionState.clear();
        if (open != null) {
            openState.add(open);
            positionState.add(Tuple2.of(lastLsn, sentAtLastLsn));
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        openState =
                context.getOperatorStateStore()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "open-transaction-v1",
                                        Types.TUPLE(Types.LONG, Types.LONG)));
        // Absent from the state of releases before it: the restore then trusts the source.
        positionState =
                context.getOperatorStateStore()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "open-transaction-position-v1",
                                        Types.TUPLE(Types.LONG, Types.LONG)));
        open = null;
        replaying = false;
        repeatsAtLastLsn = 0;
        repeatsDropped = 0;
        firstAfterStart = true;
        for (Tuple2<Long, Long> t : openState.get()) {
            open = t;
        }
        for (Tuple2<Long, Long> p : positionState.get()) {
            lastLsn = p.f0;
            sentAtLastLsn = p.f1;
            replaying = open != null;
        }
        if (open != null) {
            LOG.info(
                    "restored open transaction xid {}{}",
                    open.f0,
                    replaying
                            ? " (last change sent on: LSN "
                                    + Lsn.of(lastLsn)
                                    + ", "
                                    + sentAtLastLsn
                                    + " at it)"
                            : "");
        }
    }
}
