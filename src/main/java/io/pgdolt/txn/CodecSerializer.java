package io.pgdolt.txn;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Base of the Flink serializers of the transaction model, all backed by {@link TxnCodec}. The
 * values are immutable, so copy returns the same instance. The format version is written into every
 * record, so the serializer snapshots carry no content. Stateless and thread-safe.
 */
public abstract class CodecSerializer<T> extends TypeSerializerSingleton<T> {
    private static final long serialVersionUID = 1L;

    @Override
    public final boolean isImmutableType() {
        return true;
    }

    @Override
    public final T createInstance() {
        return null;
    }

    @Override
    public final T copy(T from) {
        return from;
    }

    @Override
    public final T copy(T from, T reuse) {
        return from;
    }

    @Override
    public final int getLength() {
        return -1;
    }

    @Override
    public final T deserialize(T reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public final void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    /** Serializer of {@link RowChange} (keyed state of the assembler). */
    public static final class RowChangeSerializer extends CodecSerializer<RowChange> {
        private static final long serialVersionUID = 1L;
        public static final RowChangeSerializer INSTANCE = new RowChangeSerializer();

        @Override
        public void serialize(RowChange record, DataOutputView target) throws IOException {
            TxnCodec.writeRowChange(record, target);
        }

        @Override
        public RowChange deserialize(DataInputView source) throws IOException {
            return TxnCodec.readRowChange(source);
        }

        @Override
        public TypeSerializerSnapshot<RowChange> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Serializer snapshot; restores {@link #INSTANCE}. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<RowChange> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }

    /** Serializer of {@link ChangeEvent} (the stream between source and assembler). */
    public static final class ChangeEventSerializer extends CodecSerializer<ChangeEvent> {
        private static final long serialVersionUID = 1L;
        public static final ChangeEventSerializer INSTANCE = new ChangeEventSerializer();

        @Override
        public void serialize(ChangeEvent record, DataOutputView target) throws IOException {
            TxnCodec.writeChangeEvent(record, target);
        }

        @Override
        public ChangeEvent deserialize(DataInputView source) throws IOException {
            return TxnCodec.readChangeEvent(source);
        }

        @Override
        public TypeSerializerSnapshot<ChangeEvent> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Serializer snapshot; restores {@link #INSTANCE}. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<ChangeEvent> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }

    /** Serializer of {@link SourceTransaction} (the stream between assembler and sink). */
    public static final class SourceTransactionSerializer
            extends CodecSerializer<SourceTransaction> {
        private static final long serialVersionUID = 1L;
        public static final SourceTransactionSerializer INSTANCE =
                new SourceTransactionSerializer();

        @Override
        public void serialize(SourceTransaction record, DataOutputView target) throws IOException {
            TxnCodec.writeTransaction(record, target);
        }

        @Override
        public SourceTransaction deserialize(DataInputView source) throws IOException {
            return TxnCodec.readTransaction(source);
        }

        /**
         * Whether {@code encoded} (bytes of {@link #serialize}, by any release) is in a format this
         * release writes, so that encoding what it decodes to gives the same bytes again.
         */
        public static boolean isCurrentFormat(byte[] encoded) {
            return encoded.length > 0 && TxnCodec.isWritten(encoded[0]);
        }

        @Override
        public TypeSerializerSnapshot<SourceTransaction> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Serializer snapshot; restores {@link #INSTANCE}. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<SourceTransaction> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }

    /** Serializer of {@link Assembled} (the stream between assembler and sink). */
    public static final class AssembledSerializer extends CodecSerializer<Assembled> {
        private static final long serialVersionUID = 1L;
        public static final AssembledSerializer INSTANCE = new AssembledSerializer();

        @Override
        public void serialize(Assembled record, DataOutputView target) throws IOException {
            TxnCodec.writeAssembled(record, target);
        }

        @Override
        public Assembled deserialize(DataInputView source) throws IOException {
            return TxnCodec.readAssembled(source);
        }

        @Override
        public TypeSerializerSnapshot<Assembled> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Serializer snapshot; restores {@link #INSTANCE}. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<Assembled> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }
}
