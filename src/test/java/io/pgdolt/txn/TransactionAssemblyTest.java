package io.pgdolt.txn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The boundary step and the keyed assembler, through Flink's operator test harnesses. */
class TransactionAssemblyTest {

    private static RowChange insert(String table, int id) {
        return new RowChange(
                new TableId("public", table),
                RowChange.Op.INSERT,
                new String[] {"id"},
                new String[] {String.valueOf(id)},
                new String[] {"id"},
                new String[] {String.valueOf(id)});
    }

    private static ChangeEvent change(long xid, long prev, long lsn, int id) {
        return ChangeEvent.change(xid, prev, lsn, 1_700_000_000_123_456L, insert("t", id));
    }

    private static OneInputStreamOperatorTestHarness<ChangeEvent, ChangeEvent> boundary()
            throws Exception {
        return new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new TransactionBoundary()),
                CodecSerializer.ChangeEventSerializer.INSTANCE);
    }

    private static List<ChangeEvent> output(
            OneInputStreamOperatorTestHarness<ChangeEvent, ChangeEvent> h) {
        List<ChangeEvent> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            out.add(((StreamRecord<ChangeEvent>) o).getValue());
        }
        return out;
    }

    @Test
    void endMarkerClosesTheOpenTransactionWithItsKey() throws Exception {
        try (var h = boundary()) {
            h.open();
            h.processElement(new StreamRecord<>(change(10, 100, 110, 1)));
            h.processElement(new StreamRecord<>(change(10, 100, 120, 2)));
            h.processElement(new StreamRecord<>(ChangeEvent.end(10, 0, 130)));
            // A repeated END (after a restore) has no open transaction: dropped.
            h.processElement(new StreamRecord<>(ChangeEvent.end(10, 0, 130)));
            assertThat(output(h))
                    .containsExactly(
                            change(10, 100, 110, 1),
                            change(10, 100, 120, 2),
                            ChangeEvent.end(10, 100, 130));
        }
    }

    @Test
    void nextTransactionClosesOneWhoseEndNeverCame() throws Exception {
        try (var h = boundary()) {
            h.open();
            h.processElement(new StreamRecord<>(change(10, 100, 110, 1)));
            h.processElement(new StreamRecord<>(change(11, 130, 140, 2)));
            assertThat(output(h))
                    .containsExactly(
                            change(10, 100, 110, 1),
                            ChangeEvent.end(10, 100, 130),
                            change(11, 130, 140, 2));
        }
    }

    @Test
    void openTransactionSurvivesRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = boundary()) {
            h.open();
            h.processElement(new StreamRecord<>(change(10, 100, 110, 1)));
            snapshot = h.snapshot(1, 1);
        }
        try (var h = boundary()) {
            h.initializeState(snapshot);
            h.open();
            h.processElement(new StreamRecord<>(change(11, 130, 140, 2)));
            assertThat(output(h))
                    .containsExactly(ChangeEvent.end(10, 100, 130), change(11, 130, 140, 2));
        }
    }

    @Test
    void dropsEndsReplayedForEarlierTransactionsAfterRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = boundary()) {
            h.open();
            // xid 11 committed at 130 (after xid 10 started); xid 10 is open when the barrier
            // comes.
            h.processElement(new StreamRecord<>(change(10, 130, 150, 1)));
            snapshot = h.snapshot(1, 1);
        }
        try (var h = boundary()) {
            h.initializeState(snapshot);
            h.open();
            // The restore replays xid 11's COMMIT, then xid 10 continues and ends.
            h.processElement(new StreamRecord<>(ChangeEvent.end(11, 0, 130)));
            h.processElement(new StreamRecord<>(change(10, 130, 160, 2)));
            h.processElement(new StreamRecord<>(ChangeEvent.end(10, 0, 170)));
            assertThat(output(h))
                    .containsExactly(change(10, 130, 160, 2), ChangeEvent.end(10, 130, 170));
        }
    }

    @Test
    void continuingChangesKeepTheKeyTheTransactionOpenedWith() throws Exception {
        try (var h = boundary()) {
            h.open();
            h.processElement(new StreamRecord<>(change(10, 130, 150, 1)));
            // After a restore the same transaction's changes may carry another previous commit.
            h.processElement(new StreamRecord<>(change(10, 120, 160, 2)));
            h.processElement(new StreamRecord<>(ChangeEvent.end(10, 0, 170)));
            assertThat(output(h))
                    .containsExactly(
                            change(10, 130, 150, 1),
                            change(10, 130, 160, 2),
                            ChangeEvent.end(10, 130, 170));
        }
    }

    @Test
    void refusesToGuessACommitLsn() throws Exception {
        try (var h = boundary()) {
            h.open();
            h.processElement(new StreamRecord<>(change(10, 100, 110, 1)));
            assertThatThrownBy(() -> h.processElement(new StreamRecord<>(change(11, 0, 140, 2))))
                    .hasMessageContaining("without its END marker");
            assertThatThrownBy(() -> h.processElement(new StreamRecord<>(change(12, 90, 140, 2))))
                    .hasMessageContaining("cannot be its commit");
            assertThatThrownBy(
                            () -> h.processElement(new StreamRecord<>(ChangeEvent.end(12, 0, 150))))
                    .hasMessageContaining("was open");
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    Tuple2<Long, Long>, ChangeEvent, SourceTransaction>
            assembler() throws Exception {
        var h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(new TransactionAssembler()),
                        e -> Tuple2.of(e.xid(), e.prevCommitLsn()),
                        Types.TUPLE(Types.LONG, Types.LONG));
        h.setup(CodecSerializer.SourceTransactionSerializer.INSTANCE);
        return h;
    }

    @Test
    void assemblesInterleavedKeysAndSurvivesRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = assembler()) {
            h.open();
            h.processElement(new StreamRecord<>(change(10, 100, 110, 1)));
            h.processElement(new StreamRecord<>(change(10, 100, 111, 2)));
            snapshot = h.snapshot(1, 1);
            assertThat(h.getOutput()).isEmpty();
        }
        try (var h = assembler()) {
            h.initializeState(snapshot);
            h.open();
            h.processElement(new StreamRecord<>(change(10, 100, 112, 3)));
            h.processElement(new StreamRecord<>(ChangeEvent.end(10, 100, 130)));
            h.processElement(new StreamRecord<>(ChangeEvent.end(10, 100, 130))); // repeat: ignored
            List<SourceTransaction> out = new ArrayList<>();
            for (Object o : h.getOutput()) {
                out.add(((StreamRecord<SourceTransaction>) o).getValue());
            }
            assertThat(out).hasSize(1);
            SourceTransaction t = out.get(0);
            assertThat(t.xid()).isEqualTo(10);
            assertThat(t.commitLsn()).isEqualTo(Lsn.of(130));
            assertThat(t.commitTime()).isEqualTo(Instant.parse("2023-11-14T22:13:20.123456Z"));
            assertThat(t.changes()).containsExactly(insert("t", 1), insert("t", 2), insert("t", 3));
        }
    }
}
