package io.pgdolt.txn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LsnTest {

    @Test
    void parsesAndPrintsPostgresForm() {
        Lsn lsn = Lsn.parse("16/B374D848");
        assertThat(lsn.value()).isEqualTo(0x16B374D848L);
        assertThat(lsn.toString()).isEqualTo("16/B374D848");
        assertThat(Lsn.parse("0/0")).isSameAs(Lsn.ZERO);
        assertThat(Lsn.of(0x1_0000_0000L).toString()).isEqualTo("1/0");
    }

    @Test
    void printsAsPostgresDoesAcrossTheRange() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(42);
        long[] edges = {0L, 1L, 0xFFFF_FFFFL, 0x1_0000_0000L, -1L, Long.MIN_VALUE, 0xABCDEFL << 20};
        for (int i = 0; i < 10_000 + edges.length; i++) {
            long v = i < edges.length ? edges[i] : random.nextLong() >>> random.nextInt(64);
            String expected =
                    String.format(java.util.Locale.ROOT, "%X/%X", v >>> 32, v & 0xFFFFFFFFL);
            assertThat(Lsn.of(v).toString()).as("%x", v).isEqualTo(expected);
            assertThat(Lsn.parse(expected).value()).isEqualTo(v);
        }
    }

    @Test
    void comparesUnsigned() {
        Lsn high = Lsn.of(0x8000_0000_0000_0000L); // negative as a signed long
        Lsn low = Lsn.parse("FFFFFFF/FFFFFFFF");
        assertThat(high.isAfter(low)).isTrue();
        assertThat(high.toString()).isEqualTo("80000000/0");
        assertThat(Lsn.parse("FFFFFFFF/FFFFFFFF").compareTo(high)).isPositive();
    }

    @Test
    void rejectsMalformedText() {
        for (String bad : new String[] {"", "12", "/1", "1/", "1/2/3", "G/1", "123456789/0"}) {
            assertThatThrownBy(() -> Lsn.parse(bad))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not an LSN");
        }
    }
}
