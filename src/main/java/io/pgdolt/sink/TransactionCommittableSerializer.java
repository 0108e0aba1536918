package io.pgdolt.sink;

import io.pgdolt.txn.CodecSerializer.SourceTransactionSerializer;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Serializer of the sink's committables (complete source transactions kept in checkpoint state
 * until the committer has applied them). The payload carries its own {@code TxnCodec} format
 * version (1 or 2 are read); this serializer's version 1 frames it.
 *
 * <p>A committable is encoded once: later calls copy the bytes it keeps (see {@link
 * TransactionCommittable}), and one read from bytes of the current format keeps those.
 */
final class TransactionCommittableSerializer
        implements SimpleVersionedSerializer<TransactionCommittable> {
    static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(TransactionCommittable committable) throws IOException {
        byte[] bytes = committable.serialized();
        if (bytes == null) {
            DataOutputSerializer out = new DataOutputSerializer(256);
            SourceTransactionSerializer.INSTANCE.serialize(committable.txn(), out);
            bytes = out.getCopyOfBuffer();
            committable.serialized(bytes);
        }
        // A copy: the caller owns what it gets.
        return bytes.clone();
    }

    @Override
    public TransactionCommittable deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException(
                    "cannot read a committable of serializer version "
                            + version
                            + " (this release reads version "
                            + VERSION
                            + ")");
        }
        TransactionCommittable committable =
                new TransactionCommittable(
                        SourceTransactionSerializer.INSTANCE.deserialize(
                                new DataInputDeserializer(serialized)));
        if (SourceTransactionSerializer.isCurrentFormat(serialized)) {
            // The committer receives every committable this way and keeps it in its checkpoint
            // state until applied: its bytes are what serialize would encode again. (Flink hands
            // over an array of its own; an older format is encoded anew.)
            committable.serialized(serialized);
        }
        return committable;
    }
}
