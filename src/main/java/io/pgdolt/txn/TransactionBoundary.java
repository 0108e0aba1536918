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
 * <p>Must run with parallelism 1, directly after the source. Its one piece of state, the
 * transaction currently open, is checkpointed with the source offset that produced it, so a restore
 * continues the same transaction.
 */
public final class TransactionBoundary extends ProcessFunction<ChangeEvent, ChangeEvent>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TransactionBoundary.class);

    private transient ListState<Tuple2<Long, Long>> openState;

    /** The open transaction (xid, prevCommitLsn), or null between transactions. */
    private transient Tuple2<Long, Long> open;

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
            open = Tuple2.of(e.xid(), e.prevCommitLsn());
            out.collect(e);
        } else if (open != null && open.f0 == e.xid()) {
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

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        openState.clear();
        if (open != null) {
            openState.add(open);
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
        open = null;
        firstAfterStart = true;
        for (Tuple2<Long, Long> t : openState.get()) {
            open = t;
        }
        if (open != null) {
            LOG.info("restored open transaction xid {}", open.f0);
        }
    }
}
