package io.pgdolt.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Turns the rows both servers hold in the drilled buckets into row-level differences. */
final class Drill {
    private Drill() {}

    /**
     * The differences between the rows held on the primary and on the replica, ordered by identity.
     * A keyed table's {@link Difference.Changed} has no columns yet: they are filled in by reading
     * both rows again ({@link TableVerifier}).
     */
    static List<Difference> diff(
            TableSpec spec, Map<Key, SidePass.Held> primary, Map<Key, SidePass.Held> replica) {
        Set<Key> keys = new HashSet<>(primary.keySet());
        keys.addAll(replica.keySet());
        List<Difference> out = new ArrayList<>();
        for (Key k : keys) {
            SidePass.Held p = primary.get(k);
            SidePass.Held r = replica.get(k);
            long pc = p == null ? 0 : p.count;
            long rc = r == null ? 0 : r.count;
            List<String> identity = identity(spec, k, p != null ? p : r);
            if (pc > rc) {
                out.add(new Difference.Missing(identity, pc - rc));
            } else if (rc > pc) {
                out.add(new Difference.Extra(identity, rc - pc));
            } else if (p.hashSum != r.hashSum) {
                out.add(new Difference.Changed(identity, List.of()));
            }
        }
        out.sort(ORDER);
        return out;
    }

    /** Report order: by identity (numbers as numbers), then kind. */
    static final Comparator<Difference> ORDER =
            Comparator.comparing(Difference::identity, Drill::compareIdentities)
                    .thenComparing(d -> d.getClass().getSimpleName());

    private static int compareIdentities(List<String> a, List<String> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = compareValues(a.get(i), b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    }

    private static int compareValues(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : -1) : 1;
        }
        try {
            int c = new java.math.BigDecimal(a).compareTo(new java.math.BigDecimal(b));
            if (c != 0) {
                return c;
            }
        } catch (NumberFormatException notNumbers) {
            // Compared as text below.
        }
        return a.compareTo(b);
    }

    /**
     * The buckets a recheck drills into: from {@code differing} (sorted), in order, each whose
     * larger side fits in what is left of {@code budget} rows.
     */
    static int[] choose(int[] differing, BucketSums primary, BucketSums replica, long budget) {
        int[] out = new int[differing.length];
        int n = 0;
        long used = 0;
        for (int b : differing) {
            long w = Math.max(primary.count(b), replica.count(b));
            if (used + w <= budget) {
                out[n++] = b;
                used += w;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static List<String> identity(TableSpec spec, Key k, SidePass.Held h) {
        return spec.keyed() ? k.values() : Arrays.asList(h.values);
    }
}
