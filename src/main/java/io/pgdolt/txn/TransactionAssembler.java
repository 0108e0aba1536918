package io.pgdolt.txn;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Regroups change events into source transactions. Keyed by (xid, previous commit LSN); buffers a
 * transaction's changes in keyed state (so they are checkpointed, and spill to disk with RocksDB).
 *
 * <p>A transaction that ends within one chunk ({@code chunkRows} changes or about {@code
 * chunkBytes} of values) is emitted whole, inline, at its END. A larger one is emitted chunk by
 * chunk as it grows: each full chunk leaves the state at once as a {@link TransactionChunk}, which
 * the sink stages on the replica, and the END emits a staged {@link SourceTransaction} that refers
 * to the chunks. So the state, the checkpoints and the committables stay bounded by one chunk
 * whatever the transaction's size. Chunks are numbered from the state: after a restore the source
 * replays the same changes after the checkpoint, so the same chunks are formed again and restaging
 * them overwrites what a failed attempt staged.
 */
public final class TransactionAssembler
        extends KeyedProcessFunction<Tuple2<Long, Long>, ChangeEvent, Assembled> {
    private static final long serialVersionUID = 1L;

    /** Default chunk size in row changes. */
    public static final int DEFAULT_CHUNK_ROWS = 10_000;

    /** Default chunk size in bytes of values (approximate). */
    public static final long DEFAULT_CHUNK_BYTES = 8L << 20;

    private static final int BUFFERED = 0;
    private static final int BUFFERED_BYTES = 1;
    private static final int CHUNKS = 2;
    private static final int TOTAL = 3;

    private final int chunkRows;
    private final long chunkBytes;

    private transient ListState<RowChange> changes;
    private transient ValueState<Long> commitTimeMicros;

    /** {buffered changes, their approximate bytes, chunks emitted, changes in all}. */
    private transient ValueState<long[]> chunking;

    /** Schema changes of the emitted chunks (a staged transaction prepares them first). */
    private transient ListState<RowChange> schemaChanges;

    public TransactionAssembler() {
        this(DEFAULT_CHUNK_ROWS, DEFAULT_CHUNK_BYTES);
    }

    /**
     * @param chunkRows a transaction with more changes is emitted in chunks of this many
     * @param chunkBytes ... or in chunks of about this many bytes of values, whichever fills first
     */
    public TransactionAssembler(int chunkRows, long chunkBytes) {
        if (chunkRows < 1 || chunkBytes < 1) {
            throw new IllegalArgumentException("chunk limits must be positive");
        }
        this.chunkRows = chunkRows;
        this.chunkBytes = chunkBytes;
    }

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
        chunking =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "chunking-v1",
                                        PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        schemaChanges =
                getRuntimeContext()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "schema-changes-v1",
                                        CodecSerializer.RowChangeSerializer.INSTANCE));
    }

    @Override
    public void processElement(ChangeEvent e, Context ctx, Collector<Assembled> out)
            throws Exception {
        if (!e.isEnd()) {
            changes.add(e.change());
            if (commitTimeMicros.value() == null) {
                commitTimeMicros.update(e.commitTimeMicros());
            }
            long[] counts = counts();
            counts[BUFFERED]++;
            counts[BUFFERED_BYTES] += weight(e.change());
            counts[TOTAL]++;
            if (counts[BUFFERED] >= chunkRows || counts[BUFFERED_BYTES] >= chunkBytes) {
                emitChunk(ctx.getCurrentKey(), counts, out);
            }
            chunking.update(counts);
            return;
        }
        Long micros = commitTimeMicros.value();
        if (micros == null) {
            return; // An END repeated after a restore: the transaction was emitted already.
        }
        Instant commitTime =
                Instant.ofEpochSecond(
                        Math.floorDiv(micros, 1_000_000L),
                        Math.floorMod(micros, 1_000_000L) * 1000L);
        long[] counts = counts();
        if (counts[CHUNKS] == 0) {
            List<RowChange> all = new ArrayList<>();
            for (RowChange c : changes.get()) {
                all.add(c);
            }
            out.collect(
                    Assembled.of(new SourceTransaction(e.xid(), Lsn.of(e.lsn()), commitTime, all)));
        } else {
            if (counts[BUFFERED] > 0) {
                emitChunk(ctx.getCurrentKey(), counts, out);
            }
            List<RowChange> schema = new ArrayList<>();
            for (RowChange c : schemaChanges.get()) {
                schema.add(c);
            }
            SourceTransaction.Staged staged =
                    new SourceTransaction.Staged(
                            ctx.getCurrentKey().f1,
                            Math.toIntExact(counts[CHUNKS]),
                            counts[TOTAL],
                            schema);
            out.collect(
                    Assembled.of(
                            new SourceTransaction(
                                    e.xid(), Lsn.of(e.lsn()), commitTime, List.of(), staged)));
        }
        changes.clear();
        commitTimeMicros.clear();
        chunking.clear();
        schemaChanges.clear();
    }

    private long[] counts() throws Exception {
        long[] counts = chunking.value();
        return counts == null ? new long[4] : counts.clone();
    }

    private void emitChunk(Tuple2<Long, Long> key, long[] counts, Collector<Assembled> out)
            throws Exception {
        List<RowChange> chunk = new ArrayList<>((int) counts[BUFFERED]);
        for (RowChange c : changes.get()) {
            chunk.add(c);
            if (!c.op().isRow()) {
                schemaChanges.add(c);
            }
        }
        out.collect(
                Assembled.of(
                        new TransactionChunk(
                                key.f0, key.f1, Math.toIntExact(counts[CHUNKS]), chunk)));
        changes.clear();
        counts[CHUNKS]++;
        counts[BUFFERED] = 0;
        counts[BUFFERED_BYTES] = 0;
    }

    /** Approximate size of a change's values, for the chunk limit. */
    static long weight(RowChange c) {
        long bytes = 64;
        for (String[] values : new String[][] {c.keyValues(), c.values()}) {
            for (String v : values) {
                bytes += v == null ? 1 : 8 + v.length();
            }
        }
        return bytes;
    }
}
