package io.pgdolt.txn;

import java.io.IOException;
import java.util.List;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * A full chunk of a transaction that is still open at the source. The assembler emits it as soon as
 * it fills and forgets its changes; the sink stages it on the replica (durably, before the next
 * checkpoint completes), and the transaction's END then becomes a staged {@link SourceTransaction}
 * that refers to its chunks.
 *
 * @param xid the transaction's xid
 * @param prevCommitLsn the second half of the transaction's key (see {@link ChangeEvent})
 * @param seq the chunk's position in the transaction, from 0
 * @param changes the chunk's changes, in source order
 */
public record TransactionChunk(long xid, long prevCommitLsn, int seq, List<RowChange> changes) {
    public TransactionChunk {
        if (seq < 0) {
            throw new IllegalArgumentException("negative chunk number " + seq);
        }
        changes = List.copyOf(changes);
    }

    /**
     * The changes in the staging table's payload format (versioned like all of {@link TxnCodec}).
     */
    public static byte[] encode(List<RowChange> changes) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64 * 1024);
        TxnCodec.writeChunkPayload(changes, out);
        return out.getCopyOfBuffer();
    }

    /** Reads what {@link #encode} wrote. */
    public static List<RowChange> decode(byte[] payload) throws IOException {
        return TxnCodec.readChunkPayload(new DataInputDeserializer(payload));
    }

    @Override
    public String toString() {
        return "chunk " + seq + " of xid " + xid + " (" + changes.size() + " changes)";
    }
}
