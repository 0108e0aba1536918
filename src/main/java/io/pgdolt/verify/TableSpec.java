package io.pgdolt.verify;

import io.pgdolt.txn.TableId;
import java.util.ArrayList;
import java.util.List;

/**
 * One table as verify compares it: the primary's published columns (the replica may have more,
 * which are not compared), the primary's type of each (which decides normalisation), the columns
 * that identify a row, and the primary's publication row filter. Immutable.
 */
final class TableSpec {
    private final TableId id;
    private final List<String> columns;
    private final List<String> typeNames;
    private final int[] key;
    private final String rowFilter;
    private final long estimatedRows;

    /**
     * @param keyColumns the replica identity or primary key; empty for a table without either,
     *     whose rows are then compared whole, as a multiset
     * @param rowFilter the publication's row filter (SQL over the table's columns), or null
     * @param estimatedRows the primary's estimate of the row count (-1 when unknown), which sizes
     *     the buckets
     */
    TableSpec(
            TableId id,
            List<String> columns,
            List<String> typeNames,
            List<String> keyColumns,
            String rowFilter,
            long estimatedRows) {
        if (columns.isEmpty() || columns.size() != typeNames.size()) {
            throw new IllegalArgumentException("columns and types of " + id + " do not match");
        }
        this.id = id;
        this.columns = List.copyOf(columns);
        this.typeNames = List.copyOf(typeNames);
        this.key = new int[keyColumns.size()];
        for (int i = 0; i < key.length; i++) {
            key[i] = this.columns.indexOf(keyColumns.get(i));
            if (key[i] < 0) {
                throw new IllegalArgumentException(
                        "key column " + keyColumns.get(i) + " of " + id + " is not published");
            }
        }
        this.rowFilter = rowFilter;
        this.estimatedRows = estimatedRows;
    }

    TableId id() {
        return id;
    }

    List<String> columns() {
        return columns;
    }

    String typeName(int column) {
        return typeNames.get(column);
    }

    /** Whether rows are identified by key columns (else by all their values). */
    boolean keyed() {
        return key.length > 0;
    }

    /** Indexes of the key columns; every column for a table without a key. */
    int[] keyIndexes() {
        if (keyed()) {
            return key.clone();
        }
        int[] all = new int[columns.size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return all;
    }

    List<String> keyColumns() {
        List<String> out = new ArrayList<>();
        for (int k : keyIndexes()) {
            out.add(columns.get(k));
        }
        return out;
    }

    String rowFilter() {
        return rowFilter;
    }

    long estimatedRows() {
        return estimatedRows;
    }

    /** Normalises a row as read, in column order (see {@link Normalizer}). */
    String[] normalize(String[] raw) {
        String[] out = new String[raw.length];
        for (int i = 0; i < raw.length; i++) {
            out[i] = Normalizer.normalize(typeNames.get(i), raw[i]);
        }
        return out;
    }

    /** Whether values of the column print as bare numbers (for the report). */
    boolean numeric(int column) {
        switch (typeNames.get(column)) {
            case "int2":
            case "int4":
            case "int8":
            case "numeric":
            case "float4":
            case "float8":
            case "oid":
                return true;
            default:
                return false;
        }
    }
}
