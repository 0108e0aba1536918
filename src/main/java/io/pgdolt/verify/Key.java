package io.pgdolt.verify;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * What identifies a row in the drill-down: the normalised key values of a keyed table, or, for a
 * table without a key, the whole row's hash (identical rows share it and are counted).
 */
record Key(List<String> values, long rowHash) {
    Key {
        values = Collections.unmodifiableList(values);
    }

    static Key of(String[] row, int[] keyIndexes) {
        String[] v = new String[keyIndexes.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = row[keyIndexes[i]];
        }
        return new Key(Arrays.asList(v), 0L);
    }

    static Key ofRowHash(long rowHash) {
        return new Key(List.of(), rowHash);
    }
}
