package io.pgdolt.verify;

import java.util.List;

/** One row-level difference between the primary and the replica, as the report lists it. */
sealed interface Difference {

    /** The differing row's identity, as the report prints it (key values or the whole row). */
    List<String> identity();

    /**
     * The primary holds rows the replica lacks.
     *
     * @param identity the key values, or for a table without a key the row's values (truncated)
     * @param copies how many such rows (more than 1 only for duplicates)
     */
    record Missing(List<String> identity, long copies) implements Difference {}

    /** The replica holds rows the primary lacks (see {@link Missing}). */
    record Extra(List<String> identity, long copies) implements Difference {}

    /** The row with this key has other values on the replica. */
    record Changed(List<String> identity, List<ColumnChange> columns) implements Difference {}

    /** One column of a {@link Changed} row: both values, normalised and truncated for display. */
    record ColumnChange(String column, String primary, String replica) {}
}
