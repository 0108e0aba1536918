package io.pgdolt.verify;

import java.util.Arrays;

/**
 * Per bucket of one table on one server: the row count and two order-independent checksums of the
 * row hashes (their sum, which counts duplicates, and their xor). Equal sums on both servers mean
 * equal rows in that bucket (up to a 64-bit hash collision). Either tracks every bucket or only a
 * chosen set (the buckets a recheck looks at again); every row is counted in {@link #rows()}.
 *
 * <p>Not thread-safe: filled by one scan.
 */
final class BucketSums {
    private final int buckets;

    /** Bucket to index in the arrays, -1 when not tracked; null when every bucket is tracked. */
    private final int[] slot;

    private final int[] tracked;
    private final long[] count;
    private final long[] sum;
    private final long[] xor;
    private long rows;

    private BucketSums(int buckets, int[] tracked) {
        this.buckets = buckets;
        this.tracked = tracked;
        int n = tracked == null ? buckets : tracked.length;
        if (tracked == null) {
            slot = null;
        } else {
            slot = new int[buckets];
            Arrays.fill(slot, -1);
            for (int i = 0; i < tracked.length; i++) {
                slot[tracked[i]] = i;
            }
        }
        count = new long[n];
        sum = new long[n];
        xor = new long[n];
    }

    /** Tracks every one of {@code buckets} buckets. */
    static BucketSums all(int buckets) {
        return new BucketSums(buckets, null);
    }

    /** Tracks only {@code tracked} (sorted bucket numbers) of {@code buckets}. */
    static BucketSums only(int buckets, int[] tracked) {
        return new BucketSums(buckets, tracked.clone());
    }

    int buckets() {
        return buckets;
    }

    boolean tracks(int bucket) {
        return slot == null || slot[bucket] >= 0;
    }

    /** Counts a row; adds it to its bucket's checksums if the bucket is tracked. */
    void add(int bucket, long rowHash) {
        rows++;
        int i = slot == null ? bucket : slot[bucket];
        if (i < 0) {
            return;
        }
        count[i]++;
        sum[i] += rowHash;
        xor[i] ^= rowHash;
    }

    /** Every row the scan saw, tracked bucket or not. */
    long rows() {
        return rows;
    }

    /** Rows in a tracked bucket. */
    long count(int bucket) {
        return count[index(bucket)];
    }

    /** The tracked buckets (sorted) whose count or checksums differ from {@code other}'s. */
    int[] differing(BucketSums other) {
        int[] candidates = tracked == null ? null : tracked;
        int n = candidates == null ? buckets : candidates.length;
        int[] out = new int[n];
        int found = 0;
        for (int k = 0; k < n; k++) {
            int b = candidates == null ? k : candidates[k];
            int i = index(b);
            int j = other.index(b);
            if (count[i] != other.count[j] || sum[i] != other.sum[j] || xor[i] != other.xor[j]) {
                out[found++] = b;
            }
        }
        return Arrays.copyOf(out, found);
    }

    private int index(int bucket) {
        int i = slot == null ? bucket : slot[bucket];
        if (i < 0) {
            throw new IllegalArgumentException("bucket " + bucket + " is not tracked");
        }
        return i;
    }
}
