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

    /** The boundary's state after it has processed {@code events}. */
    private static OperatorSubtaskState boundaryStateAfter(ChangeEvent... events) throws Exception {
        try (var h = boundary()) {
            h.open();
            for (ChangeEvent e : events) {
                h.processElement(new StreamRecord<>(e));
            }
            return h.snapshot(1, 1);
        }
    }

    /** What a boundary restored from {@code state} sends on for {@code events}. */
    private static List<ChangeEvent> restoredBoundarySends(
            OperatorSubtaskState state, ChangeEvent... events) throws Exception {
        try (var h = boundary()) {
            h.initializeState(state);
            h.open();
            for (ChangeEvent e : events) {
                h.processElement(new StreamRecord<>(e));
            }
            return output(h);
        }
    }

    @Test
    void dropsChangesOfTheOpenTransactionTheSourceSendsAgainAfterRestore() throws Exception {
        OperatorSubtaskState state =
                boundaryStateAfter(change(10, 130, 150, 1), change(10, 130, 160, 2));
        // The source resumes at the commit before the open transaction and sends its first two
        // changes again (with no previous commit LSN yet), then the rest.
        assertThat(
                        restoredBoundarySends(
                                state,
                                ChangeEvent.end(11, 0, 130),
                                change(10, 0, 150, 1),
                                change(10, 0, 160, 2),
                                change(10, 0, 170, 3),
                                ChangeEvent.end(10, 0, 180)))
                .containsExactly(change(10, 130, 170, 3), ChangeEvent.end(10, 130, 180));
    }

    @Test
    void tellsRepeatsFromNewChangesAtOneLsn() throws Exception {
        // A multi-row insert: several changes at one LSN; two of three sent before the barrier.
        OperatorSubtaskState state =
                boundaryStateAfter(change(10, 130, 150, 1), change(10, 130, 150, 2));
        assertThat(
                        restoredBoundarySends(
                                state,
                                change(10, 130, 150, 1),
                                change(10, 130, 150, 2),
                                change(10, 130, 150, 3),
                                ChangeEvent.end(10, 0, 180)))
                .containsExactly(change(10, 130, 150, 3), ChangeEvent.end(10, 130, 180));
    }

    @Test
    void keepsEverythingWhenTheSourceResumesPastThePosition() throws Exception {
        OperatorSubtaskState state =
                boundaryStateAfter(change(10, 130, 150, 1), change(10, 130, 150, 2));
        // Once past the position, the replay has ended: a second change at that later LSN is new.
        assertThat(
                        restoredBoundarySends(
                                state,
                                change(10, 130, 160, 3),
                                change(10, 130, 160, 4),
                                ChangeEvent.end(10, 0, 180)))
                .containsExactly(
                        change(10, 130, 160, 3),
                        change(10, 130, 160, 4),
                        ChangeEvent.end(10, 130, 180));
    }

    /**
     * State written by the release before the position was kept (stored bytes: xid 10 open after
     * commit 130, its change at 150 sent on): the restore continues the transaction and, knowing no
     * position, sends on whatever the source sends.
     */
    @Test
    void restoresTheStateOfTheReleaseBefore() throws Exception {
        java.net.URL stored =
                getClass().getResource("/serialized/transaction-boundary-open-v1.snapshot");
        OperatorSubtaskState state =
                org.apache.flink.streaming.util.OperatorSnapshotUtil.readStateHandle(
                        java.nio.file.Paths.get(stored.toURI()).toString());
        assertThat(
                        restoredBoundarySends(
                                state,
                                change(10, 0, 150, 1),
                                change(10, 0, 160, 2),
                                ChangeEvent.end(10, 0, 180)))
                .containsExactly(
                        change(10, 130, 150, 1),
                        change(10, 130, 160, 2),
                        ChangeEvent.end(10, 130, 180));
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
                    Tuple2<Long, Long>, ChangeEvent, Assembled>
            assembler() throws Exception {
        return assembler(new TransactionAssembler());
    }

    private static KeyedOneInputStreamOperatorTestHarness<
                    Tuple2<Long, Long>, ChangeEvent, Assembled>
            assembler(TransactionAssembler assembler) throws Exception {
        var h =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(assembler),
                        e -> Tuple2.of(e.xid(), e.prevCommitLsn()),
                        Types.TUPLE(Types.LONG, Types.LONG));
        h.setup(CodecSerializer.AssembledSerializer.INSTANCE);
        return h;
    }

    private static List<Assembled> assembled(
            KeyedOneInputStreamOperatorTestHarness<Tuple2<Long, Long>, ChangeEvent, Assembled> h) {
        List<Assembled> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            out.add(((StreamRecord<Assembled>) o).getValue());
        }
        return out;
    }

    /** Eight changes of xid 20 (the fourth a schema change), then its END. */
    private static List<ChangeEvent> largeTransaction() {
        List<ChangeEvent> events = new ArrayList<>();
        for (int i = 1; i <= 8; i++) {
            RowChange c =
                    i == 4
                            ? RowChange.columnAdded(
                                    new TableId("public", "t"), "note", "text", "text", null)
                            : insert("t", i);
            events.add(ChangeEvent.change(20, 200, 200 + i, 1_700_000_000_000_000L, c));
        }
        events.add(ChangeEvent.end(20, 200, 300));
        return events;
    }

    @Test
    void largeTransactionLeavesStateChunkByChunkAndEndsAsAStagedReference() throws Exception {
        List<ChangeEvent> events = largeTransaction();
        List<Assembled> uninterrupted;
        try (var h = assembler(new TransactionAssembler(3, 1 << 20))) {
            h.open();
            for (ChangeEvent e : events) {
                h.processElement(new StreamRecord<>(e));
            }
            uninterrupted = assembled(h);
        }
        assertThat(uninterrupted).hasSize(4);
        for (int seq = 0; seq < 3; seq++) {
            TransactionChunk chunk = uninterrupted.get(seq).chunk();
            assertThat(chunk.xid()).isEqualTo(20);
            assertThat(chunk.prevCommitLsn()).isEqualTo(200);
            assertThat(chunk.seq()).isEqualTo(seq);
        }
        assertThat(uninterrupted.get(0).chunk().changes())
                .containsExactly(insert("t", 1), insert("t", 2), insert("t", 3));
        assertThat(uninterrupted.get(2).chunk().changes())
                .containsExactly(insert("t", 7), insert("t", 8));
        SourceTransaction staged = uninterrupted.get(3).transaction();
        assertThat(staged.changes()).isEmpty();
        assertThat(staged.commitLsn()).isEqualTo(Lsn.of(300));
        assertThat(staged.staged())
                .isEqualTo(
                        new SourceTransaction.Staged(
                                200, 3, 8, List.of(uninterrupted.get(1).chunk().changes().get(0))));
        assertThat(staged.staged().schemaChanges().get(0).op())
                .isEqualTo(RowChange.Op.COLUMN_ADDED);

        // A restore from a checkpoint taken after five changes: the source replays the rest, and
        // the same chunks (so the same staged rows) and the same reference come out.
        OperatorSubtaskState snapshot;
        List<Assembled> beforeCrash;
        try (var h = assembler(new TransactionAssembler(3, 1 << 20))) {
            h.open();
            for (ChangeEvent e : events.subList(0, 5)) {
                h.processElement(new StreamRecord<>(e));
            }
            snapshot = h.snapshot(1, 1);
            h.processElement(new StreamRecord<>(events.get(5))); // lost with the crash
            beforeCrash = assembled(h);
        }
        List<Assembled> afterRestore;
        try (var h = assembler(new TransactionAssembler(3, 1 << 20))) {
            h.initializeState(snapshot);
            h.open();
            for (ChangeEvent e : events.subList(5, events.size())) {
                h.processElement(new StreamRecord<>(e));
            }
            afterRestore = assembled(h);
        }
        List<Assembled> all = new ArrayList<>(beforeCrash.subList(0, 1));
        all.addAll(afterRestore);
        assertThat(beforeCrash.get(1)).isEqualTo(uninterrupted.get(1)); // staged, then replayed
        assertThat(all).isEqualTo(uninterrupted);
    }

    @Test
    void chunkByteLimitAppliesToWideRows() throws Exception {
        String wide = "x".repeat(4000);
        try (var h = assembler(new TransactionAssembler(1000, 8_000))) {
            h.open();
            for (int i = 1; i <= 5; i++) {
                RowChange c =
                        new RowChange(
                                new TableId("public", "t"),
                                RowChange.Op.INSERT,
                                new String[] {"id"},
                                new String[] {"" + i},
                                new String[] {"id", "v"},
                                new String[] {"" + i, wide});
                h.processElement(new StreamRecord<>(ChangeEvent.change(30, 0, 300 + i, 0L, c)));
            }
            h.processElement(new StreamRecord<>(ChangeEvent.end(30, 0, 400)));
            List<Assembled> out = assembled(h);
            // About 4 KB a row: a chunk fills at the second row.
            assertThat(out)
                    .extracting(a -> a.chunk() == null ? -1 : a.chunk().changes().size())
                    .containsExactly(2, 2, 1, -1);
            assertThat(out.get(3).transaction().staged().chunks()).isEqualTo(3);
            assertThat(out.get(3).transaction().changeCount()).isEqualTo(5);
        }
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
            List<Assembled> out = assembled(h);
            assertThat(out).hasSize(1);
            SourceTransaction t = out.get(0).transaction();
            assertThat(t.isStaged()).isFalse();
            assertThat(t.xid()).isEqualTo(10);
            assertThat(t.commitLsn()).isEqualTo(Lsn.of(130));
            assertThat(t.commitTime()).isEqualTo(Instant.parse("2023-11-14T22:13:20.123456Z"));
            assertThat(t.changes()).containsExactly(insert("t", 1), insert("t", 2), insert("t", 3));
        }
    }
}
