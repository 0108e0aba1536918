package io.pgdolt.txn;

import java.util.Arrays;
import java.util.Objects;

/**
 * One row change of a source transaction, with every value in PostgreSQL's text representation
 * (what the type's output function prints), so that the replica parses it with the same input
 * function and nothing is lost on the way.
 *
 * <p>{@code keyColumns/keyValues} identify the row (the primary key, or the replica identity);
 * {@code fullRowKey} says they are the whole old row of a table without a key (REPLICA IDENTITY
 * FULL), which may match several identical rows of which exactly one is meant; {@code
 * columns/values} are the new image of an insert or update and are empty for a delete. A value is
 * {@code null} for SQL NULL, or {@link #UNCHANGED} for a TOASTed column the source did not send
 * because it did not change (it must keep its replica value).
 *
 * <p>Immutable by convention: the arrays are never modified after construction.
 */
public record RowChange(
        TableId table,
        Op op,
        String[] keyColumns,
        String[] keyValues,
        String[] columns,
        String[] values,
        boolean fullRowKey) {

    /**
     * Marker for an unchanged TOASTed value that the source did not send. Compared by identity:
     * only this instance means "unchanged"; the serializers map it to a tag of its own.
     */
    @SuppressWarnings("StringOperationCanBeSimplified")
    public static final String UNCHANGED = new String("<unchanged toast value>");

    /** The kind of change. The byte codes are persisted: never renumber. */
    public enum Op {
        INSERT((byte) 1),
        UPDATE((byte) 2),
        DELETE((byte) 3),
        /** All rows of the table are removed; no key, no image. */
        TRUNCATE((byte) 4);

        private final byte code;

        Op(byte code) {
            this.code = code;
        }

        public byte code() {
            return code;
        }

        public static Op ofCode(byte code) {
            for (Op op : values()) {
                if (op.code == code) {
                    return op;
                }
            }
            throw new IllegalArgumentException("unknown row change op code " + code);
        }
    }

    public RowChange {
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(keyColumns, "keyColumns");
        Objects.requireNonNull(keyValues, "keyValues");
        Objects.requireNonNull(columns, "columns");
        Objects.requireNonNull(values, "values");
        if (keyColumns.length != keyValues.length || columns.length != values.length) {
            throw new IllegalArgumentException("column and value counts differ for " + table);
        }
        if ((op == Op.UPDATE || op == Op.DELETE) && keyColumns.length == 0) {
            throw new IllegalArgumentException(op + " on " + table + " has no key columns");
        }
        if ((op == Op.DELETE || op == Op.TRUNCATE) && columns.length != 0) {
            throw new IllegalArgumentException("DELETE on " + table + " carries a new image");
        }
    }

    /** A change identified by a primary key or replica identity index. */
    public RowChange(
            TableId table,
            Op op,
            String[] keyColumns,
            String[] keyValues,
            String[] columns,
            String[] values) {
        this(table, op, keyColumns, keyValues, columns, values, false);
    }

    /** A TRUNCATE of {@code table}. */
    public static RowChange truncate(TableId table) {
        return new RowChange(
                table, Op.TRUNCATE, new String[0], new String[0], new String[0], new String[0]);
    }

    /** True if {@code value} is the unchanged-TOAST marker. */
    public static boolean isUnchanged(String value) {
        return value == UNCHANGED;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RowChange)) {
            return false;
        }
        RowChange r = (RowChange) o;
        return table.equals(r.table)
                && op == r.op
                && Arrays.equals(keyColumns, r.keyColumns)
                && Arrays.equals(keyValues, r.keyValues)
                && Arrays.equals(columns, r.columns)
                && Arrays.equals(values, r.values)
                && fullRowKey == r.fullRowKey;
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                table,
                op,
                Arrays.hashCode(keyColumns),
                Arrays.hashCode(keyValues),
                Arrays.hashCode(columns),
                Arrays.hashCode(values),
                fullRowKey);
    }

    /** Never prints values: they may be personal data. */
    @Override
    public String toString() {
        return op + " " + table + " key " + Arrays.toString(keyColumns);
    }
}
