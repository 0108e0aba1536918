package io.pgdolt.verify;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Compares one table: a first pass computes per-bucket checksums of every row on both servers; each
 * recheck reads both again, looking only at the buckets that still differ, holding the rows of as
 * many of them as the memory limit allows, and names the differing keys. A keyed table's differing
 * keys are finally read once more, by key, from both servers: what has become equal since is
 * dropped, and a changed row's columns are named.
 *
 * <p>The two servers are read at the same time (the replica on {@code pool}). Not thread-safe.
 */
final class TableVerifier {
    /** Bucket counts: at least this many, at most {@link #MAX_BUCKETS}, powers of two. */
    static final int MIN_BUCKETS = 4096;

    static final int MAX_BUCKETS = 1 << 18;

    /** Target rows per bucket, when the primary's estimate of the row count is known. */
    private static final long ROWS_PER_BUCKET = 64;

    /** Keys read back by key, per listed key: the rest may have become equal meanwhile. */
    private static final int LOOKUPS_PER_LISTED_KEY = 4;

    private final TableSpec spec;
    private final RowSource primary;
    private final RowSource replica;
    private final VerifyOptions options;
    private final ExecutorService pool;
    private final ProgressMeter meter;
    private final int buckets;

    private BucketSums primarySums;
    private BucketSums replicaSums;
    private int[] differing;
    private boolean differedAtFirst;
    private int rechecks;
    private List<Difference> found = List.of();
    private int[] unexamined = new int[0];

    TableVerifier(
            TableSpec spec,
            RowSource primary,
            RowSource replica,
            VerifyOptions options,
            ExecutorService pool,
            ProgressMeter meter) {
        this.spec = spec;
        this.primary = primary;
        this.replica = replica;
        this.options = options;
        this.pool = pool;
        this.meter = meter;
        this.buckets = bucketsFor(spec.estimatedRows());
    }

    static int bucketsFor(long estimatedRows) {
        long wanted = Math.max(1, estimatedRows / ROWS_PER_BUCKET);
        long pow = Long.highestOneBit(wanted);
        if (pow < wanted) {
            pow <<= 1;
        }
        return (int) Math.max(MIN_BUCKETS, Math.min(MAX_BUCKETS, pow));
    }

    TableSpec spec() {
        return spec;
    }

    /** Reads every row of both servers into the bucket checksums. */
    void firstPass() throws InterruptedException {
        SidePass[] sides = pass(null, null, "full pass");
        differing = sides[0].sums().differing(sides[1].sums());
        differedAtFirst = differing.length > 0;
    }

    /** Whether buckets still differ (after the first pass or the last recheck). */
    boolean differs() {
        return differing.length > 0;
    }

    /** Reads both servers again, looking only at the buckets that still differ. */
    void recheck() throws InterruptedException {
        int[] drilled = Drill.choose(differing, primarySums, replicaSums, options.drillRows());
        BitSet drill = new BitSet(buckets);
        for (int b : drilled) {
            drill.set(b);
        }
        rechecks++;
        SidePass[] sides = pass(differing, drill, "recheck " + rechecks);
        differing = sides[0].sums().differing(sides[1].sums());
        found = Drill.diff(spec, sides[0].held(), sides[1].held());
        int n = 0;
        int[] out = new int[differing.length];
        for (int b : differing) {
            if (!drill.get(b)) {
                out[n++] = b;
            }
        }
        unexamined = java.util.Arrays.copyOf(out, n);
    }

    /** The outcome; for a keyed table, reads the differing keys once more from both servers. */
    TableResult result() throws InterruptedException {
        long pRows = primarySums.rows();
        long rRows = replicaSums.rows();
        if (!differs()) {
            return TableResult.equal(spec, pRows, differedAtFirst);
        }
        List<Difference> listed = new ArrayList<>();
        long unlisted;
        if (spec.keyed()) {
            int read = 0;
            int limit = options.maxKeys() * LOOKUPS_PER_LISTED_KEY;
            for (Difference d : found) {
                if (listed.size() >= options.maxKeys() || read >= limit) {
                    break;
                }
                read++;
                Difference confirmed = confirm(d.identity());
                if (confirmed != null) {
                    listed.add(confirmed);
                }
            }
            unlisted = found.size() - read;
            if (listed.isEmpty() && unlisted == 0 && unexamined.length == 0 && !found.isEmpty()) {
                // Every differing key had become equal when read back: in-flight changes.
                return TableResult.equal(spec, pRows, true);
            }
        } else {
            listed.addAll(found.subList(0, Math.min(found.size(), options.maxKeys())));
            unlisted = found.size() - listed.size();
        }
        long up = 0;
        long ur = 0;
        for (int b : unexamined) {
            up += primarySums.count(b);
            ur += replicaSums.count(b);
        }
        return new TableResult(
                spec,
                TableResult.Status.DIFFERENT,
                pRows,
                rRows,
                listed,
                unlisted,
                unexamined.length,
                up,
                ur,
                false,
                null);
    }

    /** The difference for {@code key} as both servers hold it now, or null if now equal. */
    private Difference confirm(List<String> key) throws InterruptedException {
        List<String[]> p;
        List<String[]> r;
        try {
            p = primary.lookup(spec, key);
        } catch (SQLException e) {
            throw failure("primary", e);
        }
        try {
            r = replica.lookup(spec, key);
        } catch (SQLException e) {
            throw failure("replica", e);
        }
        if (p.size() > r.size()) {
            return new Difference.Missing(key, p.size() - r.size());
        }
        if (r.size() > p.size()) {
            return new Difference.Extra(key, r.size() - p.size());
        }
        if (p.isEmpty()) {
            return null;
        }
        List<Difference.ColumnChange> changes = new ArrayList<>();
        if (p.size() == 1) {
            String[] a = p.get(0);
            String[] b = r.get(0);
            for (int i = 0; i < a.length; i++) {
                if (!java.util.Objects.equals(a[i], b[i])) {
                    changes.add(
                            new Difference.ColumnChange(
                                    spec.columns().get(i),
                                    Report.truncate(a[i], Report.VALUE_CHARS),
                                    Report.truncate(b[i], Report.VALUE_CHARS)));
                }
            }
            return changes.isEmpty() ? null : new Difference.Changed(key, changes);
        }
        // Several rows with one key (a replica table without the key constraint): as multisets.
        List<Long> ph = new ArrayList<>();
        List<Long> rh = new ArrayList<>();
        p.forEach(row -> ph.add(RowHash.row(row)));
        r.forEach(row -> rh.add(RowHash.row(row)));
        ph.sort(null);
        rh.sort(null);
        return ph.equals(rh) ? null : new Difference.Changed(key, List.of());
    }

    /** One pass over both servers; {@code tracked} null means every bucket. */
    private SidePass[] pass(int[] tracked, BitSet drill, String what) throws InterruptedException {
        meter.begin(spec.id() + " (" + what + ")");
        SidePass p = new SidePass(spec, sums(tracked), drill, () -> meter.row(true));
        SidePass r = new SidePass(spec, sums(tracked), drill, () -> meter.row(false));
        Future<?> onReplica =
                pool.submit(
                        () -> {
                            replica.scan(spec, r);
                            return null;
                        });
        try {
            primary.scan(spec, p);
        } catch (SQLException e) {
            onReplica.cancel(true);
            throw failure("primary", e);
        } catch (RuntimeException e) {
            onReplica.cancel(true);
            throw e;
        }
        try {
            onReplica.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SQLException) {
                throw failure("replica", (SQLException) cause);
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new VerifyException("reading " + spec.id() + " on the replica failed", cause);
        } catch (InterruptedException e) {
            onReplica.cancel(true);
            throw e;
        }
        primarySums = p.sums();
        replicaSums = r.sums();
        return new SidePass[] {p, r};
    }

    private BucketSums sums(int[] tracked) {
        return tracked == null ? BucketSums.all(buckets) : BucketSums.only(buckets, tracked);
    }

    private VerifyException failure(String side, SQLException e) {
        return new VerifyException(
                "cannot read table " + spec.id() + " on the " + side + ": " + e.getMessage(), e);
    }
}
