package io.pgdolt.txn;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary format of the transaction model, shared by every serializer that persists it (keyed
 * state, committables, savepoints).
 *
 * <p>Each top-level value starts with a format version byte. Readers accept every version listed in
 * {@link #readVersion} and throw on any other, so that state written by a newer release is refused
 * loudly instead of read as garbage. Bump {@link #VERSION} and keep the old read path when the
 * format changes; the stored-bytes tests pin every version.
 */
final class TxnCodec {
    /**
     * Current format version. 2 added a flags byte per row change (bit 0: full-row key) and the
     * TRUNCATE op; 3 added the schema-change ops COLUMN_ADDED and SCHEMA_CHANGE_REFUSED (same
     * layout, so that a release reading only 1 and 2 refuses them by version rather than by op).
     * Versions 1 and 2 are still read. Version 4 is written only for a staged {@link
     * SourceTransaction} (an inline one keeps version 3, which older releases read): after the
     * (empty) changes comes the staged reference.
     */
    static final byte VERSION = 3;

    /** Format version of a staged transaction, and of the chunk and stream framings. */
    static final byte STAGED_VERSION = 4;

    private static final byte VALUE_NULL = 0;
    private static final byte VALUE_TEXT = 1;
    private static final byte VALUE_UNCHANGED = 2;

    private TxnCodec() {}

    /** Whether this release writes format {@code version} (inline or staged transactions). */
    static boolean isWritten(byte version) {
        return version == VERSION || version == STAGED_VERSION;
    }

    static byte readVersion(DataInput in, String what) throws IOException {
        byte version = in.readByte();
        if (version < 1 || version > STAGED_VERSION) {
            throw new IOException(
                    "cannot read "
                            + what
                            + " written in format version "
                            + version
                            + " (this release reads versions 1 to 4); was the state written by a"
                            + " newer pgdolt?");
        }
        return version;
    }

    // ---- RowChange ----

    static void writeRowChange(RowChange c, DataOutput out) throws IOException {
        out.writeByte(VERSION);
        writeRowChangeBody(c, out);
    }

    static RowChange readRowChange(DataInput in) throws IOException {
        return readRowChangeBody(in, readVersion(in, "a row change"));
    }

    private static void writeRowChangeBody(RowChange c, DataOutput out) throws IOException {
        writeString(c.table().schema(), out);
        writeString(c.table().table(), out);
        out.writeByte(c.op().code());
        writeNames(c.keyColumns(), out);
        writeValues(c.keyValues(), out);
        writeNames(c.columns(), out);
        writeValues(c.values(), out);
        out.writeByte(c.fullRowKey() ? 1 : 0);
    }

    private static RowChange readRowChangeBody(DataInput in, byte version) throws IOException {
        TableId table = new TableId(readString(in), readString(in));
        byte code = in.readByte();
        RowChange.Op op;
        try {
            op = RowChange.Op.ofCode(code);
        } catch (IllegalArgumentException e) {
            throw new IOException("corrupt row change: " + e.getMessage(), e);
        }
        if (version < 3 && !op.isRow()) {
            throw new IOException("corrupt row change: op " + op + " in format version " + version);
        }
        String[] keyColumns = readNames(in);
        String[] keyValues = readValues(in);
        String[] columns = readNames(in);
        String[] values = readValues(in);
        boolean fullRowKey = false;
        if (version >= 2) {
            byte flags = in.readByte();
            if ((flags & ~1) != 0) {
                throw new IOException("corrupt row change: unknown flags " + flags);
            }
            fullRowKey = (flags & 1) != 0;
        }
        return new RowChange(table, op, keyColumns, keyValues, columns, values, fullRowKey);
    }

    // ---- SourceTransaction ----

    static void writeTransaction(SourceTransaction t, DataOutput out) throws IOException {
        out.writeByte(t.isStaged() ? STAGED_VERSION : VERSION);
        out.writeLong(t.xid());
        out.writeLong(t.commitLsn().value());
        out.writeLong(t.commitTime().getEpochSecond());
        out.writeInt(t.commitTime().getNano());
        writeChanges(t.changes(), out);
        if (t.isStaged()) {
            SourceTransaction.Staged staged = t.staged();
            out.writeLong(staged.prevCommitLsn());
            out.writeInt(staged.chunks());
            out.writeLong(staged.changeCount());
            writeChanges(staged.schemaChanges(), out);
        }
    }

    static SourceTransaction readTransaction(DataInput in) throws IOException {
        byte version = readVersion(in, "a source transaction");
        long xid = in.readLong();
        Lsn commitLsn = Lsn.of(in.readLong());
        Instant commitTime = Instant.ofEpochSecond(in.readLong(), in.readInt());
        List<RowChange> changes = readChanges(in, version);
        SourceTransaction.Staged staged = null;
        if (version >= STAGED_VERSION) {
            long prev = in.readLong();
            int chunks = in.readInt();
            long count = in.readLong();
            try {
                staged =
                        new SourceTransaction.Staged(prev, chunks, count, readChanges(in, version));
            } catch (IllegalArgumentException e) {
                throw new IOException("corrupt staged transaction: " + e.getMessage(), e);
            }
        }
        return new SourceTransaction(xid, commitLsn, commitTime, changes, staged);
    }

    // ---- chunks of staged transactions (staging table payload) and the assembler's output ----

    /** A chunk's changes as stored in the replica's staging table. */
    static void writeChunkPayload(List<RowChange> changes, DataOutput out) throws IOException {
        out.writeByte(STAGED_VERSION);
        writeChanges(changes, out);
    }

    static List<RowChange> readChunkPayload(DataInput in) throws IOException {
        return readChanges(in, readVersion(in, "a staged chunk"));
    }

    static void writeAssembled(Assembled a, DataOutput out) throws IOException {
        out.writeByte(STAGED_VERSION);
        if (a.transaction() != null) {
            out.writeByte(0);
            writeTransaction(a.transaction(), out);
        } else {
            TransactionChunk c = a.chunk();
            out.writeByte(1);
            out.writeLong(c.xid());
            out.writeLong(c.prevCommitLsn());
            out.writeInt(c.seq());
            writeChanges(c.changes(), out);
        }
    }

    static Assembled readAssembled(DataInput in) throws IOException {
        byte version = readVersion(in, "an assembled transaction");
        byte tag = in.readByte();
        if (tag == 0) {
            return Assembled.of(readTransaction(in));
        }
        if (tag != 1) {
            throw new IOException("corrupt assembled transaction: unknown tag " + tag);
        }
        long xid = in.readLong();
        long prev = in.readLong();
        int seq = in.readInt();
        return Assembled.of(new TransactionChunk(xid, prev, seq, readChanges(in, version)));
    }

    private static void writeChanges(List<RowChange> changes, DataOutput out) throws IOException {
        out.writeInt(changes.size());
        for (RowChange c : changes) {
            writeRowChangeBody(c, out);
        }
    }

    private static List<RowChange> readChanges(DataInput in, byte version) throws IOException {
        int n = in.readInt();
        checkCount(n);
        List<RowChange> changes = new ArrayList<>(Math.min(n, 1 << 16));
        for (int i = 0; i < n; i++) {
            changes.add(readRowChangeBody(in, version));
        }
        return changes;
    }

    // ---- ChangeEvent (network only, but versioned like the rest) ----

    static void writeChangeEvent(ChangeEvent e, DataOutput out) throws IOException {
        out.writeByte(VERSION);
        out.writeByte(e.isEnd() ? 1 : 0);
        out.writeLong(e.xid());
        out.writeLong(e.prevCommitLsn());
        out.writeLong(e.lsn());
        out.writeLong(e.commitTimeMicros());
        if (!e.isEnd()) {
            writeRowChangeBody(e.change(), out);
        }
    }

    static ChangeEvent readChangeEvent(DataInput in) throws IOException {
        byte version = readVersion(in, "a change event");
        boolean end = in.readByte() == 1;
        long xid = in.readLong();
        long prev = in.readLong();
        long lsn = in.readLong();
        long ts = in.readLong();
        return end
                ? ChangeEvent.end(xid, prev, lsn)
                : ChangeEvent.change(xid, prev, lsn, ts, readRowChangeBody(in, version));
    }

    // ---- primitives ----

    private static void writeNames(String[] names, DataOutput out) throws IOException {
        out.writeInt(names.length);
        for (String s : names) {
            writeString(s, out);
        }
    }

    private static String[] readNames(DataInput in) throws IOException {
        int n = in.readInt();
        checkCount(n);
        String[] names = new String[n];
        for (int i = 0; i < n; i++) {
            names[i] = readString(in);
        }
        return names;
    }

    private static void writeValues(String[] values, DataOutput out) throws IOException {
        out.writeInt(values.length);
        for (String v : values) {
            if (v == null) {
                out.writeByte(VALUE_NULL);
            } else if (RowChange.isUnchanged(v)) {
                out.writeByte(VALUE_UNCHANGED);
            } else {
                out.writeByte(VALUE_TEXT);
                writeString(v, out);
            }
        }
    }

    private static String[] readValues(DataInput in) throws IOException {
        int n = in.readInt();
        checkCount(n);
        String[] values = new String[n];
        for (int i = 0; i < n; i++) {
            byte tag = in.readByte();
            switch (tag) {
                case VALUE_NULL:
                    values[i] = null;
                    break;
                case VALUE_TEXT:
                    values[i] = readString(in);
                    break;
                case VALUE_UNCHANGED:
                    values[i] = RowChange.UNCHANGED;
                    break;
                default:
                    throw new IOException("corrupt row change: unknown value tag " + tag);
            }
        }
        return values;
    }

    /** Length-prefixed UTF-8 (DataOutput.writeUTF stops at 64 KiB; values can be far larger). */
    private static void writeString(String s, DataOutput out) throws IOException {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static String readString(DataInput in) throws IOException {
        int n = in.readInt();
        checkCount(n);
        byte[] bytes = new byte[n];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void checkCount(int n) throws IOException {
        if (n < 0) {
            throw new IOException("corrupt data: negative length " + n);
        }
    }
}
