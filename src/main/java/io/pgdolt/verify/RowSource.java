package io.pgdolt.verify;

import java.sql.SQLException;
import java.util.List;
import java.util.function.Consumer;

/** The rows of the compared tables on one server. */
interface RowSource {

    /**
     * Streams every row of {@code table} (one consistent snapshot, no particular order) to {@code
     * sink}, normalised, in the order of {@link TableSpec#columns()}. Memory does not grow with the
     * table.
     */
    void scan(TableSpec table, Consumer<String[]> sink) throws SQLException;

    /** The rows (normalised) whose key columns equal {@code key}; a keyed table only. */
    List<String[]> lookup(TableSpec table, List<String> key) throws SQLException;
}
