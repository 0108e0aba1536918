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
    void roundTripsStoredVersion1() throws IOException {
        byte[] stored = stored();
        SourceTransaction t = serializer.deserialize(1, stored);
        assertThat(t.xid()).isEqualTo(4_294_967_295L);
        assertThat(t.commitLsn().toString()).isEqualTo("16/B374D848");
        assertThat(t.changes()).hasSize(4);
        assertThat(serializer.getVersion()).isEqualTo(1);
        assertThat(serializer.serialize(t)).isEqualTo(stored);
    }

    @Test
    void refusesUnknownVersion() {
        assertThatThrownBy(() -> serializer.deserialize(2, stored()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 2");
    }

    private static byte[] stored() throws IOException {
        try (InputStream in =
                TransactionCommittableSerializerTest.class
                        .getClassLoader()
                        .getResourceAsStream("serialized/source-transaction-v1.bin")) {
            return in.readAllBytes();
        }
    }
}
