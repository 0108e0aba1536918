package io.pgdolt.verify;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Writes verify's report: one block per table, then one result line. Stateless. */
final class Report {
    /** Characters of a changed value shown. */
    static final int VALUE_CHARS = 80;

    private Report() {}

    /** {@code value} cut to {@code max} characters, marked with an ellipsis when cut. */
    static String truncate(String value, int max) {
        if (value == null || value.length() <= max) {
            return value;
        }
        return value.substring(0, max) + "…";
    }

    /** Whether every table compared equal (the exit status is 0 exactly then). */
    static boolean allEqual(List<TableResult> results) {
        return results.stream().allMatch(r -> r.status() == TableResult.Status.EQUAL);
    }

    static void write(PrintStream out, List<String> header, List<TableResult> results) {
        for (String line : header) {
            out.println(line);
        }
        out.println();
        long rows = 0;
        int differ = 0;
        for (TableResult r : results) {
            writeTable(out, r);
            if (r.status() == TableResult.Status.EQUAL) {
                rows += r.primaryRows();
            } else {
                differ++;
            }
        }
        out.println();
        if (differ == 0) {
            out.printf(
                    "result: EQUAL: %d table%s, %,d rows, equal on the primary and the replica%n",
                    results.size(), results.size() == 1 ? "" : "s", rows);
        } else {
            out.printf(
                    "result: DIFFERENT: %d of %d table%s differ%n",
                    differ, results.size(), results.size() == 1 ? "" : "s");
        }
        out.flush();
    }

    private static void writeTable(PrintStream out, TableResult r) {
        TableSpec spec = r.spec();
        String name = spec.id() + (spec.keyed() ? "" : " (no key: rows compared whole)");
        switch (r.status()) {
            case EQUAL:
                out.printf(
                        "%s: equal (%,d rows%s)%n",
                        name,
                        r.primaryRows(),
                        r.resolvedOnRecheck()
                                ? "; the differences seen at first were changes the replica had"
                                        + " not yet applied"
                                : "");
                return;
            case NOT_COMPARED:
                out.printf("%s: NOT COMPARED: %s%n", name, r.note());
                return;
            default:
                break;
        }
        // A table without a key has no keys: its rows are what differ.
        String unit = spec.keyed() ? "key" : "row";
        out.printf(
                "%s: DIFFERENT: %,d rows on the primary, %,d on the replica; %,d differing"
                        + " %s%s found%n",
                name,
                r.primaryRows(),
                r.replicaRows(),
                r.differingKeys(),
                unit,
                r.differingKeys() == 1 ? "" : "s");
        for (Difference d : r.listed()) {
            out.println("  " + describe(spec, d));
        }
        if (r.unlisted() > 0) {
            out.printf("  ... and %,d more differing %ss, not listed%n", r.unlisted(), unit);
        }
        if (r.unexaminedBuckets() > 0) {
            out.printf(
                    "  %,d more differing bucket%s (%,d rows on the primary, %,d on the replica)"
                            + " not examined key by key: over the limit of rows held in memory%n",
                    r.unexaminedBuckets(),
                    r.unexaminedBuckets() == 1 ? "" : "s",
                    r.unexaminedPrimaryRows(),
                    r.unexaminedReplicaRows());
        }
        if (r.listed().isEmpty() && r.unlisted() == 0 && r.unexaminedBuckets() == 0) {
            out.println("  the checksums differ, but no differing key was found");
        }
    }

    /** One line for one difference, naming the key (or the whole row) and what differs. */
    static String describe(TableSpec spec, Difference d) {
        if (d instanceof Difference.Missing m) {
            return "missing on the replica: " + copies(m.copies()) + identity(spec, m.identity());
        }
        if (d instanceof Difference.Extra e) {
            return "extra on the replica: " + copies(e.copies()) + identity(spec, e.identity());
        }
        Difference.Changed c = (Difference.Changed) d;
        if (c.columns().isEmpty()) {
            return "changed: " + identity(spec, c.identity()) + ": the rows with this key differ";
        }
        List<String> parts = new ArrayList<>();
        for (Difference.ColumnChange cc : c.columns()) {
            boolean numeric = spec.numeric(spec.columns().indexOf(cc.column()));
            parts.add(
                    cc.column()
                            + ": primary "
                            + literal(cc.primary(), numeric)
                            + ", replica "
                            + literal(cc.replica(), numeric));
        }
        return "changed: " + identity(spec, c.identity()) + ": " + String.join("; ", parts);
    }

    private static String copies(long n) {
        return n == 1 ? "" : n + " rows ";
    }

    /** {@code id=42} or {@code (a, b)=('x', 2)}. */
    static String identity(TableSpec spec, List<String> values) {
        int[] idx = spec.keyIndexes();
        List<String> names = new ArrayList<>();
        List<String> shown = new ArrayList<>();
        for (int i = 0; i < idx.length; i++) {
            names.add(spec.columns().get(idx[i]));
            shown.add(literal(truncate(values.get(i), VALUE_CHARS), spec.numeric(idx[i])));
        }
        if (idx.length == 1) {
            return names.get(0) + "=" + shown.get(0);
        }
        return "(" + String.join(", ", names) + ")=(" + String.join(", ", shown) + ")";
    }

    private static String literal(String v, boolean numeric) {
        if (v == null) {
            return "NULL";
        }
        return numeric ? v : "'" + v.replace("'", "''") + "'";
    }
}
