package io.pgdolt.txn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.txn.CodecSerializer.ChangeEventSerializer;
import io.pgdolt.txn.CodecSerializer.RowChangeSerializer;
import io.pgdolt.txn.CodecSerializer.SourceTransactionSerializer;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/**
 * The persisted format of the transaction model, pinned by bytes stored in the repository: a
 * release that changes the format must keep reading these files.
 */
class TxnSerializationTest {

    /** The transaction stored in {@code serialized/source-transaction-v1.bin}. */
    static SourceTransaction sample() {
        String big = "x".repeat(70_000); // beyond DataOutput.writeUTF's 64 KiB
        return new SourceTransaction(
                4_294_967_295L,
                Lsn.parse("16/B374D848"),
                Instant.parse("2026-11-26T10:00:00.123456Z"),
                List.of(
                        new RowChange(
                                new TableId("public", "accounts"),
                                RowChange.Op.INSERT,
                                new String[] {"id"},
                                new String[] {"1"},
                                new String[] {"id", "owner", "note"},
                                new String[] {"1", "O'Brien \"🚀\"", null}),
                        new RowChange(
                                new TableId("My Schema", "Tbl"),
                                RowChange.Op.UPDATE,
                                new String[] {"a", "b"},
                                new String[] {"1", "x"},
                                new String[] {"a", "b", "doc"},
                                new String[] {"1", "x", RowChange.UNCHANGED}),
                        new RowChange(
                                new TableId("public", "big"),
                                RowChange.Op.INSERT,
                                new String[0],
                                new String[0],
                                new String[] {"v"},
                                new String[] {big}),
                        new RowChange(
                                new TableId("public", "accounts"),
                                RowChange.Op.DELETE,
                                new String[] {"id"},
                                new String[] {"2"},
                                new String[0],
                                new String[0])));
    }

    /** The transaction stored in {@code serialized/source-transaction-v2.bin}. */
    static SourceTransaction sampleV2() {
        List<RowChange> changes = new java.util.ArrayList<>(sample().changes());
        changes.add(
                new RowChange(
                        new TableId("public", "keyless"),
                        RowChange.Op.DELETE,
                        new String[] {"a", "b"},
                        new String[] {"1", null},
                        new String[0],
                        new String[0],
                        true));
        changes.add(RowChange.truncate(new TableId("public", "big")));
        return new SourceTransaction(
                sample().xid(), sample().commitLsn(), sample().commitTime(), changes);
    }

    /** The transaction stored in {@code serialized/source-transaction-v3.bin}. */
    static SourceTransaction sampleV3() {
        List<RowChange> changes = new java.util.ArrayList<>(sampleV2().changes());
        TableId accounts = new TableId("public", "accounts");
        changes.add(RowChange.columnAdded(accounts, "note 2", "numeric(10,2)", "numeric", "0.50"));
        changes.add(RowChange.columnAdded(accounts, "gone", null, "INT4", RowChange.UNCHANGED));
        changes.add(RowChange.columnAdded(accounts, "n", "integer", "int4", null));
        changes.add(RowChange.refused(accounts, "column id of public.accounts changed type"));
        return new SourceTransaction(
                sample().xid(), sample().commitLsn(), sample().commitTime(), changes);
    }

    @Test
    void readsAndWritesStoredVersion3Bytes() throws IOException {
        byte[] stored = resource("serialized/source-transaction-v3.bin");
        assertThat(stored[0]).isEqualTo((byte) 3);
        SourceTransaction read =
                SourceTransactionSerializer.INSTANCE.deserialize(new DataInputDeserializer(stored));
        assertThat(read).isEqualTo(sampleV3());
        RowChange added = read.changes().get(6);
        assertThat(added.op()).isEqualTo(RowChange.Op.COLUMN_ADDED);
        assertThat(added.addedColumn()).isEqualTo("note 2");
        assertThat(added.addedType()).isEqualTo("numeric(10,2)");
        assertThat(added.addedFill()).isEqualTo("0.50");
        assertThat(read.changes().get(7).addedType()).isNull();
        assertThat(RowChange.isUnchanged(read.changes().get(7).addedFill())).isTrue();
        assertThat(read.changes().get(8).addedFill()).isNull();
        assertThat(read.changes().get(9).refusal()).contains("changed type");
        DataOutputSerializer out = new DataOutputSerializer(1024);
        SourceTransactionSerializer.INSTANCE.serialize(sampleV3(), out);
        assertThat(out.getCopyOfBuffer()).isEqualTo(stored);
    }

    /** The staged transaction stored in {@code serialized/source-transaction-v4.bin}. */
    static SourceTransaction sampleV4() {
        TableId accounts = new TableId("public", "accounts");
        return new SourceTransaction(
                4_000_000_123L,
                Lsn.parse("1/2345ABCD"),
                Instant.parse("2026-12-06T19:30:00.654321Z"),
                List.of(),
                new SourceTransaction.Staged(
                        Lsn.parse("1/2345A000").value(),
                        500,
                        5_000_000L,
                        List.of(RowChange.columnAdded(accounts, "note", "text", "text", null))));
    }

    @Test
    void readsAndWritesStoredVersion4BytesOfAStagedTransaction() throws IOException {
        byte[] stored = resource("serialized/source-transaction-v4.bin");
        assertThat(stored[0]).isEqualTo((byte) 4);
        SourceTransaction read =
                SourceTransactionSerializer.INSTANCE.deserialize(new DataInputDeserializer(stored));
        assertThat(read).isEqualTo(sampleV4());
        assertThat(read.isStaged()).isTrue();
        assertThat(read.changeCount()).isEqualTo(5_000_000L);
        assertThat(read.staged().chunks()).isEqualTo(500);
        assertThat(read.staged().schemaChanges().get(0).addedColumn()).isEqualTo("note");
        DataOutputSerializer out = new DataOutputSerializer(256);
        SourceTransactionSerializer.INSTANCE.serialize(sampleV4(), out);
        assertThat(out.getCopyOfBuffer()).isEqualTo(stored);
        // Small: a reference, whatever the transaction's size.
        assertThat(stored.length).isLessThan(200);
    }

    @Test
    void chunkPayloadAndAssembledElementsRoundTrip() throws IOException {
        List<RowChange> changes = sampleV3().changes();
        assertThat(TransactionChunk.decode(TransactionChunk.encode(changes))).isEqualTo(changes);
        byte[] corrupt = TransactionChunk.encode(changes);
        corrupt[0] = 9;
        assertThatThrownBy(() -> TransactionChunk.decode(corrupt))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("format version 9");
        for (Assembled a :
                List.of(
                        Assembled.of(sampleV3()),
                        Assembled.of(sampleV4()),
                        Assembled.of(new TransactionChunk(7, 100, 3, changes)))) {
            DataOutputSerializer out = new DataOutputSerializer(256);
            CodecSerializer.AssembledSerializer.INSTANCE.serialize(a, out);
            assertThat(
                            CodecSerializer.AssembledSerializer.INSTANCE.deserialize(
                                    new DataInputDeserializer(out.getCopyOfBuffer())))
                    .isEqualTo(a);
        }
    }

    @Test
    void readsStoredVersion2Bytes() throws IOException {
        byte[] stored = resource("serialized/source-transaction-v2.bin");
        assertThat(stored[0]).isEqualTo((byte) 2);
        SourceTransaction read =
                SourceTransactionSerializer.INSTANCE.deserialize(new DataInputDeserializer(stored));
        assertThat(read).isEqualTo(sampleV2());
        assertThat(read.changes().get(4).fullRowKey()).isTrue();
        assertThat(read.changes().get(5).op()).isEqualTo(RowChange.Op.TRUNCATE);
    }

    @Test
    void refusesSchemaChangeOpsInOlderVersions() throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        SourceTransactionSerializer.INSTANCE.serialize(sampleV3(), out);
        byte[] bytes = out.getCopyOfBuffer();
        bytes[0] = 2;
        assertThatThrownBy(
                        () ->
                                SourceTransactionSerializer.INSTANCE.deserialize(
                                        new DataInputDeserializer(bytes)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("COLUMN_ADDED in format version 2");
    }

    @Test
    void readsStoredVersion1Bytes() throws IOException {
        byte[] stored = resource("serialized/source-transaction-v1.bin");
        SourceTransaction read =
                SourceTransactionSerializer.INSTANCE.deserialize(new DataInputDeserializer(stored));
        assertThat(read).isEqualTo(sample());
        RowChange update = read.changes().get(1);
        assertThat(RowChange.isUnchanged(update.values()[2]))
                .as("the unchanged-TOAST marker survives as the marker, not as text")
                .isTrue();
        assertThat(read.changes().get(0).values()[2]).isNull();
    }

    @Test
    void rowChangeAndEventRoundTrip() throws IOException {
        for (RowChange c : sampleV3().changes()) {
            DataOutputSerializer out = new DataOutputSerializer(64);
            RowChangeSerializer.INSTANCE.serialize(c, out);
            assertThat(
                            RowChangeSerializer.INSTANCE.deserialize(
                                    new DataInputDeserializer(out.getCopyOfBuffer())))
                    .isEqualTo(c);
        }
        ChangeEvent change = ChangeEvent.change(7, 100, 120, 1_000_000L, sample().changes().get(0));
        ChangeEvent end = ChangeEvent.end(7, 100, 200);
        for (ChangeEvent e : List.of(change, end)) {
            DataOutputSerializer out = new DataOutputSerializer(64);
            ChangeEventSerializer.INSTANCE.serialize(e, out);
            assertThat(
                            ChangeEventSerializer.INSTANCE.deserialize(
                                    new DataInputDeserializer(out.getCopyOfBuffer())))
                    .isEqualTo(e);
        }
    }

    @Test
    void refusesUnknownVersions() throws IOException {
        byte[] stored = resource("serialized/source-transaction-v1.bin").clone();
        stored[0] = 9;
        assertThatThrownBy(
                        () ->
                                SourceTransactionSerializer.INSTANCE.deserialize(
                                        new DataInputDeserializer(stored)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("format version 9");
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in =
                TxnSerializationTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return in.readAllBytes();
        }
    }
}
