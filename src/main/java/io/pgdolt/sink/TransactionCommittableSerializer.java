package io.pgdolt.sink;

import io.pgdolt.txn.CodecSerializer.SourceTransactionSerializer;
import io.pgdolt.txn.SourceTransaction;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Serializer of the sink's committables (complete source transactions kept in checkpoint state
 * until the committer has applied them). The payload carries its own {@code TxnCodec} format
 * version (1 or 2 are read); this serializer's version 1 frames it.
 */
final class TransactionCommittableSerializer
        implements SimpleVersionedSerializer<SourceTransaction> {
    static final int VERSION = 1;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(SourceTransaction txn) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        SourceTransactionSerializer.INSTANCE.serialize(txn, out);
        return out.getCopyOfBuffer();
    }

    @Override
    public SourceTransaction deserialize(int version, byte[] serialized) throws IOException {
        if (version != VERSION) {
            throw new IOException(
                    "cannot read a committable of serializer version "
                            + version
                            + " (this release reads version "
                            + VERSION
                            + ")");
        }
        return SourceTransactionSerializer.INSTANCE.deserialize(
                new DataInputDeserializer(serialized));
    }
}
