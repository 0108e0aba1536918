package io.pgdolt.verify;

/**
 * 64-bit hashes of rows and keys (FNV-1a over a length-prefixed encoding of the values, then
 * MurmurHash3's finalizer), so that a row's hash does not depend on how its values split into
 * columns and NULL differs from every string. Not cryptographic: it finds differences between two
 * honest copies, it does not resist crafted collisions. Stateless and thread-safe.
 */
final class RowHash {
    private static final long PRIME = 0x100000001b3L;
    private static final long ROW_SEED = 0xcbf29ce484222325L;
    private static final long KEY_SEED = 0x84222325cbf29ce4L;

    private RowHash() {}

    /** The hash of a whole row, for the bucket checksums. */
    static long row(String[] values) {
        long h = ROW_SEED;
        for (String v : values) {
            h = add(h, v);
        }
        return fmix(h);
    }

    /** The hash of the values at {@code columns}, which decides a row's bucket. */
    static long key(String[] values, int[] columns) {
        long h = KEY_SEED;
        for (int c : columns) {
            h = add(h, values[c]);
        }
        return fmix(h);
    }

    /** The bucket, of {@code buckets} (a power of two), of a key hash. */
    static int bucket(long keyHash, int buckets) {
        return (int) (keyHash >>> 32) & (buckets - 1);
    }

    private static long add(long h, String v) {
        if (v == null) {
            return (h ^ 0xFFL) * PRIME;
        }
        int n = v.length();
        h = (h ^ 0x01L) * PRIME;
        h = (h ^ n) * PRIME;
        for (int i = 0; i < n; i++) {
            h = (h ^ v.charAt(i)) * PRIME;
        }
        return h;
    }

    private static long fmix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
