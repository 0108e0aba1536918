package io.pgdolt.txn;

import java.util.Objects;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * Type information that pins a {@link CodecSerializer}, so Flink never falls back to Kryo for the
 * transaction model (Kryo cannot read records and would give unversioned state).
 */
public final class CodecTypeInfo<T> extends TypeInformation<T> {
    private static final long serialVersionUID = 1L;

    public static final CodecTypeInfo<ChangeEvent> CHANGE_EVENT =
            new CodecTypeInfo<>(ChangeEvent.class, CodecSerializer.ChangeEventSerializer.INSTANCE);
    public static final CodecTypeInfo<SourceTransaction> SOURCE_TRANSACTION =
            new CodecTypeInfo<>(
                    SourceTransaction.class, CodecSerializer.SourceTransactionSerializer.INSTANCE);
    public static final CodecTypeInfo<Assembled> ASSEMBLED =
            new CodecTypeInfo<>(Assembled.class, CodecSerializer.AssembledSerializer.INSTANCE);

    private final Class<T> type;
    private final CodecSerializer<T> serializer;

    private CodecTypeInfo(Class<T> type, CodecSerializer<T> serializer) {
        this.type = type;
        this.serializer = serializer;
    }

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<T> getTypeClass() {
        return type;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<T> createSerializer(SerializerConfig config) {
        return serializer;
    }

    @Override
    @SuppressWarnings("deprecation")
    public TypeSerializer<T> createSerializer(ExecutionConfig config) {
        return serializer;
    }

    @Override
    public String toString() {
        return "CodecTypeInfo<" + type.getSimpleName() + ">";
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof CodecTypeInfo && ((CodecTypeInfo<?>) obj).type == type;
    }

    @Override
    public int hashCode() {
        return Objects.hash(type);
    }

    @Override
    public boolean canEqual(Object obj) {
        return obj instanceof CodecTypeInfo;
    }
}
