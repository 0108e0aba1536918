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
        TRUNCATE((byte) 4),
        /**
         * A column the table gained on the primary (ADD COLUMN), placed before the first change
         * that carries it; see {@link #columnAdded}. Not a row change: the replica gains the column
         * (if the configuration allows) and, at this point of the transaction, the rows that
         * existed before it get the value the primary gave them.
         */
        COLUMN_ADDED((byte) 5),
        /**
         * A schema change on the primary that cannot be carried (a dropped, renamed or retyped
         * column); see {@link #refused}. The transaction holding it is not applied.
         */
        SCHEMA_CHANGE_REFUSED((byte) 6);

        private final byte code;

        Op(byte code) {
            this.code = code;
        }

        public byte code() {
            return code;
        }

        /**
         * True for a change of rows (INSERT, UPDATE, DELETE, TRUNCATE), false for a schema change.
         */
        public boolean isRow() {
            return code <= TRUNCATE.code;
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
        if ((op == Op.DELETE || op == Op.TRUNCATE || op == Op.SCHEMA_CHANGE_REFUSED)
                && columns.length != 0) {
            throw new IllegalArgumentException(op + " on " + table + " carries a new image");
        }
        if (op == Op.COLUMN_ADDED && (keyColumns.length != 2 || columns.length != 1)) {
            throw new IllegalArgumentException("malformed COLUMN_ADDED of " + table);
        }
        if (op == Op.SCHEMA_CHANGE_REFUSED && keyColumns.length != 1) {
            throw new IllegalArgumentException("malformed SCHEMA_CHANGE_REFUSED of " + table);
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

    /**
     * The column {@code name} was added to {@code table} on the primary.
     *
     * @param sqlType the column's type as the primary's {@code format_type} prints it; null if the
     *     primary's catalog no longer has the column
     * @param typeName the type's catalog name ({@code int4}, an enum's name, a domain's base type)
     * @param fill what the rows that existed before the column got: null for NULL, a text value
     *     (the default of a fast ADD COLUMN ... DEFAULT), or {@link #UNCHANGED} if it cannot be
     *     known from the primary (a volatile default, whose values are not in the WAL)
     */
    public static RowChange columnAdded(
            TableId table, String name, String sqlType, String typeName, String fill) {
        return new RowChange(
                table,
                Op.COLUMN_ADDED,
                new String[] {"type", "type_name"},
                new String[] {sqlType, typeName},
                new String[] {name},
                new String[] {fill});
    }

    /** A schema change of {@code table} that is not carried, and why. */
    public static RowChange refused(TableId table, String reason) {
        return new RowChange(
                table,
                Op.SCHEMA_CHANGE_REFUSED,
                new String[] {"reason"},
                new String[] {reason},
                new String[0],
                new String[0]);
    }

    /** For {@link Op#COLUMN_ADDED}: the added column's name. */
    public String addedColumn() {
        return columns[0];
    }

    /** For {@link Op#COLUMN_ADDED}: the column's SQL type, null if unknown. */
    public String addedType() {
        return keyValues[0];
    }

    /** For {@link Op#COLUMN_ADDED}: the type's catalog name. */
    public String addedTypeName() {
        return keyValues[1];
    }

    /** For {@link Op#COLUMN_ADDED}: the value of existing rows (see {@link #columnAdded}). */
    public String addedFill() {
        return values[0];
    }

    /** For {@link Op#SCHEMA_CHANGE_REFUSED}: why it is not carried. */
    public String refusal() {
        return keyValues[0];
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
        if (op == Op.COLUMN_ADDED) {
            return op + " " + table + " " + addedColumn() + " " + addedType();
        }
        if (op == Op.SCHEMA_CHANGE_REFUSED) {
            return op + " " + table;
        }
        return op + " " + table + " key " + Arrays.toString(keyColumns);
    }
}
