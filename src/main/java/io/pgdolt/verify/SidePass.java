package io.pgdolt.verify;

import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What one pass over one table on one server collects: the bucket checksums and, for the buckets
 * being drilled into, each row's key with its hash (or, without a key, each distinct row with its
 * count and truncated values). Memory: the checksums plus the drilled rows, whose number the caller
 * bounds.
 *
 * <p>Not thread-safe: fed by one scan.
 */
final class SidePass implements Consumer<String[]> {
    /** Characters of a value kept for the report of a table without a key. */
    static final int DISPLAY_CHARS = 64;

    private final TableSpec spec;
    private final int[] keyIndexes;
    private final BucketSums sums;
    private final BitSet drill;
    private final Runnable onRow;
    private final Map<Key, Held> held = new HashMap<>();

    /**
     * @param drill the buckets whose rows are held, or null for none
     * @param onRow called per row read (progress)
     */
    SidePass(TableSpec spec, BucketSums sums, BitSet drill, Runnable onRow) {
        this.spec = spec;
        this.keyIndexes = spec.keyIndexes();
        this.sums = sums;
        this.drill = drill;
        this.onRow = onRow;
    }

    @Override
    public void accept(String[] row) {
        onRow.run();
        int bucket = RowHash.bucket(RowHash.key(row, keyIndexes), sums.buckets());
        if (!sums.tracks(bucket)) {
            sums.add(bucket, 0L);
            return;
        }
        long rowHash = RowHash.row(row);
        sums.add(bucket, rowHash);
        if (drill == null || !drill.get(bucket)) {
            return;
        }
        Key key = spec.keyed() ? Key.of(row, keyIndexes) : Key.ofRowHash(rowHash);
        Held h = held.get(key);
        if (h == null) {
            held.put(key, new Held(rowHash, spec.keyed() ? null : truncated(row)));
        } else {
            h.count++;
            h.hashSum += rowHash;
        }
    }

    BucketSums sums() {
        return sums;
    }

    /** The drilled rows by key. */
    Map<Key, Held> held() {
        return held;
    }

    private static String[] truncated(String[] row) {
        String[] out = Arrays.copyOf(row, row.length);
        for (int i = 0; i < out.length; i++) {
            out[i] = Report.truncate(out[i], DISPLAY_CHARS);
        }
        return out;
    }

    /** The rows held under one key: how many, the sum of their hashes, and (no key) the values. */
    static final class Held {
        long count = 1;
        long hashSum;
        final String[] values;

        Held(long rowHash, String[] values) {
            this.hashSum = rowHash;
            this.values = values;
        }
    }
}
