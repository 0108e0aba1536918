package io.pgdolt.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.txn.SourceTransaction;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** Committables in checkpoint state: version 1 reads the stored bytes, unknown versions fail. */
class TransactionCommittableSerializerTest {
    private final TransactionCommittableSerializer serializer =
            new TransactionCommittableSerializer();

    @Test
    void readsStoredPayloadsOfEveryFormat() throws IOException {
        SourceTransaction v1 = serializer.deserialize(1, stored("source-transaction-v1.bin")).txn();
        assertThat(v1.xid()).isEqualTo(4_294_967_295L);
        assertThat(v1.commitLsn().toString()).isEqualTo("16/B374D848");
        assertThat(v1.changes()).hasSize(4);
        SourceTransaction v2 = serializer.deserialize(1, stored("source-transaction-v2.bin")).txn();
        assertThat(v2.changes()).hasSize(6);
        byte[] v3bytes = stored("source-transaction-v3.bin");
        SourceTransaction v3 = serializer.deserialize(1, v3bytes).txn();
        assertThat(v3.changes()).hasSize(10);
        assertThat(serializer.getVersion()).isEqualTo(1);
        assertThat(serializer.serialize(new TransactionCommittable(v3))).isEqualTo(v3bytes);
    }

    @Test
    void encodesACommittableOnceAndHandsOutCopies() throws IOException {
        byte[] stored = stored("source-transaction-v3.bin");
        SourceTransaction txn = serializer.deserialize(1, stored).txn();
        TransactionCommittable committable = new TransactionCommittable(txn);
        assertThat(committable.serialized()).isNull();
        byte[] first = serializer.serialize(committable);
        assertThat(first).isEqualTo(stored);
        assertThat(committable.serialized()).isEqualTo(stored).isNotSameAs(first);
        first[0] = 99; // the caller owns what it got
        byte[] second = serializer.serialize(committable);
        assertThat(second).isEqualTo(stored).isNotSameAs(committable.serialized());
        assertThat(serializer.deserialize(1, second).txn()).isEqualTo(txn);
    }

    @Test
    void keepsTheBytesItReadOnlyWhenThisReleaseWritesThem() throws IOException {
        byte[] v3bytes = stored("source-transaction-v3.bin");
        TransactionCommittable current = serializer.deserialize(1, v3bytes);
        assertThat(current.serialized()).isSameAs(v3bytes);
        assertThat(serializer.serialize(current)).isEqualTo(v3bytes).isNotSameAs(v3bytes);

        // An older format is encoded anew in the current one, as if built here.
        for (String older :
                new String[] {"source-transaction-v1.bin", "source-transaction-v2.bin"}) {
            TransactionCommittable old = serializer.deserialize(1, stored(older));
            assertThat(old.serialized()).as(older).isNull();
            byte[] again = serializer.serialize(old);
            assertThat(again)
                    .isEqualTo(serializer.serialize(new TransactionCommittable(old.txn())));
            assertThat(again[0]).as(older).isEqualTo((byte) 3);
            assertThat(serializer.deserialize(1, again).txn()).isEqualTo(old.txn());
        }
    }

    @Test
    void refusesUnknownVersion() {
        assertThatThrownBy(() -> serializer.deserialize(2, stored("source-transaction-v2.bin")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 2");
    }

    private static byte[] stored(String name) throws IOException {
        try (InputStream in =
                TransactionCommittableSerializerTest.class
                        .getClassLoader()
                        .getResourceAsStream("serialized/" + name)) {
            return in.readAllBytes();
        }
    }
}
