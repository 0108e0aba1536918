package io.pgdolt.verify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bucket checksums: independent of row order, sensitive to duplicates and to any value. */
class BucketSumsTest {
    private static final int[] KEY = {0};

    private static BucketSums sums(List<String[]> rows) {
        BucketSums s = BucketSums.all(4096);
        for (String[] r : rows) {
            s.add(RowHash.bucket(RowHash.key(r, KEY), 4096), RowHash.row(r));
        }
        return s;
    }

    private static List<String[]> rows(int n) {
        List<String[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new String[] {String.valueOf(i), "v" + i, i % 7 == 0 ? null : "x"});
        }
        return out;
    }

    @Test
    void orderDoesNotMatter() {
        List<String[]> a = rows(5000);
        List<String[]> b = new ArrayList<>(a);
        Collections.shuffle(b, new java.util.Random(7));
        assertThat(sums(a).differing(sums(b))).isEmpty();
        assertThat(sums(a).rows()).isEqualTo(5000);
    }

    @Test
    void aChangedValueADuplicateAndNullVersusEmptyDiffer() {
        List<String[]> a = rows(100);
        List<String[]> changed = rows(100);
        changed.get(42)[1] = "other";
        int bucket42 = RowHash.bucket(RowHash.key(a.get(42), KEY), 4096);
        assertThat(sums(a).differing(sums(changed))).containsExactly(bucket42);

        List<String[]> dup = rows(100);
        dup.add(dup.get(3).clone());
        dup.add(dup.get(3).clone());
        List<String[]> once = rows(100);
        once.add(once.get(3).clone());
        // Two extra copies cancel in a xor, not in the sum or the count.
        assertThat(sums(once).differing(sums(dup))).hasSize(1);

        List<String[]> empty = rows(100);
        empty.get(7)[2] = "";
        assertThat(sums(a).differing(sums(empty))).hasSize(1);
    }

    @Test
    void valuesDoNotShiftBetweenColumns() {
        assertThat(RowHash.row(new String[] {"ab", "c"}))
                .isNotEqualTo(RowHash.row(new String[] {"a", "bc"}));
        assertThat(RowHash.row(new String[] {null, "x"}))
                .isNotEqualTo(RowHash.row(new String[] {"x", null}));
    }

    @Test
    void onlyTrackedBucketsAreCompared() {
        List<String[]> a = rows(1000);
        List<String[]> b = rows(1000);
        b.get(1)[1] = "changed";
        b.get(2)[1] = "changed";
        int b1 = RowHash.bucket(RowHash.key(a.get(1), KEY), 4096);
        int b2 = RowHash.bucket(RowHash.key(a.get(2), KEY), 4096);
        BucketSums pa = BucketSums.only(4096, new int[] {Math.min(b1, b2)});
        BucketSums pb = BucketSums.only(4096, new int[] {Math.min(b1, b2)});
        for (String[] r : a) {
            pa.add(RowHash.bucket(RowHash.key(r, KEY), 4096), RowHash.row(r));
        }
        for (String[] r : b) {
            pb.add(RowHash.bucket(RowHash.key(r, KEY), 4096), RowHash.row(r));
        }
        assertThat(pa.differing(pb)).containsExactly(Math.min(b1, b2));
        assertThat(pa.rows()).isEqualTo(1000);
    }

    @Test
    void bucketCountGrowsWithTheTable() {
        assertThat(TableVerifier.bucketsFor(-1)).isEqualTo(TableVerifier.MIN_BUCKETS);
        assertThat(TableVerifier.bucketsFor(10_000_000)).isEqualTo(262_144);
        assertThat(TableVerifier.bucketsFor(1_000_000)).isEqualTo(16_384);
        assertThat(TableVerifier.bucketsFor(Long.MAX_VALUE)).isEqualTo(TableVerifier.MAX_BUCKETS);
    }
}
