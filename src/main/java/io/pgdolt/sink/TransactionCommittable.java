package io.pgdolt.sink;

import io.pgdolt.txn.SourceTransaction;
import java.util.Objects;

/**
 * The sink's committable: one complete source transaction, and its serialized form once it has been
 * serialized.
 *
 * <p>The committer's checkpoint state holds every committable not yet committed, and Flink 1.20
 * serializes each of them eight times per snapshot ({@code
 * SimpleVersionedSerialization.writeVersionAndSerializeList} calls the element serializer twice per
 * element, at three nested levels). Keeping the bytes makes every call after the first a copy: an
 * encoding is a function of the transaction, which never changes.
 */
final class TransactionCommittable {
    private final SourceTransaction txn;

    /** The bytes {@link TransactionCommittableSerializer} gave, or {@code null} before that. */
    private byte[] serialized;

    TransactionCommittable(SourceTransaction txn) {
        this.txn = Objects.requireNonNull(txn, "txn");
    }

    SourceTransaction txn() {
        return txn;
    }

    /** The serialized form, if serialized already (callers must not modify it). */
    byte[] serialized() {
        return serialized;
    }

    void serialized(byte[] bytes) {
        this.serialized = bytes;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TransactionCommittable && ((TransactionCommittable) o).txn.equals(txn);
    }

    @Override
    public int hashCode() {
        return txn.hashCode();
    }

    @Override
    public String toString() {
        return txn.toString();
    }
}
