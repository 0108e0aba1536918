package io.pgdolt.txn;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Regroups change events into source transactions. Keyed by (xid, previous commit LSN); buffers a
 * transaction's changes in keyed state (so they are checkpointed, and spill to disk with RocksDB)
 * and emits one {@link SourceTransaction} when the transaction's END arrives.
 */
public final class TransactionAssembler
        extends KeyedProcessFunction<Tuple2<Long, Long>, ChangeEvent, SourceTransaction> {
    private static final long serialVersionUID = 1L;

    private transient ListState<RowChange> changes;
    private transient ValueState<Long> commitTimeMicros;

    @Override
    public void open(OpenContext openContext) {
        changes =
                getRuntimeContext()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "changes-v1",
                                        CodecSerializer.RowChangeSerializer.INSTANCE));
        commitTimeMicros =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("commit-time-micros-v1", Types.LONG));
    }

    @Override
    public void processElement(ChangeEvent e, Context ctx, Collector<SourceTransaction> out)
            throws Exception {
        if (!e.isEnd()) {
            changes.add(e.change());
            if (commitTimeMicros.value() == null) {
                commitTimeMicros.update(e.commitTimeMicros());
            }
            return;
        }
        Long micros = commitTimeMicros.value();
        if (micros == null) {
            return; // An END repeated after a restore: the transaction was emitted already.
        }
        List<RowChange> all = new ArrayList<>();
        for (RowChange c : changes.get()) {
            all.add(c);
        }
        Instant commitTime =
                Instant.ofEpochSecond(
                        Math.floorDiv(micros, 1_000_000L),
                        Math.floorMod(micros, 1_000_000L) * 1000L);
        out.collect(new SourceTransaction(e.xid(), Lsn.of(e.lsn()), commitTime, all));
        changes.clear();
        commitTimeMicros.clear();
    }
}
