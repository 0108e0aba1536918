package io.pgdolt.verify;

import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Reads a table from one server over JDBC with bounded memory.
 *
 * <p>PostgreSQL: one query in a read transaction with a server-side cursor ({@code setFetchSize}),
 * one snapshot. Doltgres 1.3 ignores the cursor's row limit and sends the whole result at once,
 * which pgjdbc would hold in memory, so there the table is read in pages inside one transaction
 * (one snapshot): after the last key read, in the server's own key order, for a keyed table; with
 * OFFSET, ordered by every column's text, for a table without a key (slower: each page sorts the
 * table). The order is only used to page: rows are compared by hash, never by position.
 *
 * <p>Not thread-safe: one scan at a time on its one connection.
 */
final class JdbcRowSource implements RowSource, AutoCloseable {
    static final int PAGE_ROWS = 5000;

    private final Connection connection;
    private final boolean paged;
    private final boolean applyRowFilter;
    private final int pageRows;

    /**
     * @param paged read in pages (Doltgres) instead of through a cursor
     * @param applyRowFilter read only the rows the publication's row filter publishes (the primary)
     */
    JdbcRowSource(Connection connection, boolean paged, boolean applyRowFilter, int pageRows)
            throws SQLException {
        this.connection = connection;
        this.paged = paged;
        this.applyRowFilter = applyRowFilter;
        this.pageRows = pageRows;
        connection.setAutoCommit(false);
    }

    @Override
    public void scan(TableSpec table, Consumer<String[]> sink) throws SQLException {
        try {
            if (!paged) {
                try (PreparedStatement ps = connection.prepareStatement(select(table))) {
                    ps.setFetchSize(pageRows);
                    read(table, ps, sink);
                }
            } else if (table.keyed()) {
                scanByKey(table, sink);
            } else {
                scanByOffset(table, sink);
            }
        } catch (SQLException | RuntimeException e) {
            endRead(e);
            throw e;
        }
        endRead(null);
    }

    /** Ends the read transaction; a failure to do so after a failed read is kept with it. */
    private void endRead(Exception failure) throws SQLException {
        try {
            connection.rollback();
        } catch (SQLException e) {
            if (failure == null) {
                throw e;
            }
            failure.addSuppressed(e);
        }
    }

    private void scanByKey(TableSpec table, Consumer<String[]> sink) throws SQLException {
        int[] key = table.keyIndexes();
        List<String> keyCols = quoted(table.keyColumns());
        String order = " ORDER BY " + String.join(", ", keyCols) + " LIMIT " + pageRows;
        String first = select(table) + order;
        String tuple = key.length == 1 ? keyCols.get(0) : "(" + String.join(", ", keyCols) + ")";
        String params = key.length == 1 ? "?" : "(" + "?, ".repeat(key.length - 1) + "?)";
        String next =
                select(table)
                        + (where(table).isEmpty() ? " WHERE " : " AND ")
                        + tuple
                        + " > "
                        + params
                        + order;
        String[] last = null;
        while (true) {
            try (PreparedStatement ps = connection.prepareStatement(last == null ? first : next)) {
                if (last != null) {
                    for (int i = 0; i < key.length; i++) {
                        ps.setObject(i + 1, last[key[i]], Types.OTHER);
                    }
                }
                Page page = readPage(table, ps, sink);
                if (page.rows < pageRows) {
                    return;
                }
                last = page.lastRaw;
            }
        }
    }

    private void scanByOffset(TableSpec table, Consumer<String[]> sink) throws SQLException {
        List<String> order = new ArrayList<>();
        for (String c : quoted(table.columns())) {
            order.add(c + "::text");
        }
        long offset = 0;
        while (true) {
            String sql =
                    select(table)
                            + " ORDER BY "
                            + String.join(", ", order)
                            + " LIMIT "
                            + pageRows
                            + " OFFSET "
                            + offset;
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                Page page = readPage(table, ps, sink);
                if (page.rows < pageRows) {
                    return;
                }
                offset += page.rows;
            }
        }
    }

    @Override
    public List<String[]> lookup(TableSpec table, List<String> key) throws SQLException {
        List<String> keyCols = quoted(table.keyColumns());
        StringBuilder sql = new StringBuilder(select(table));
        sql.append(where(table).isEmpty() ? " WHERE " : " AND ");
        for (int i = 0; i < keyCols.size(); i++) {
            sql.append(i == 0 ? "" : " AND ").append(keyCols.get(i)).append(" = ?");
        }
        List<String[]> rows = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(sql.toString())) {
            for (int i = 0; i < key.size(); i++) {
                ps.setObject(i + 1, key.get(i), Types.OTHER);
            }
            read(table, ps, rows::add);
        } catch (SQLException | RuntimeException e) {
            endRead(e);
            throw e;
        }
        endRead(null);
        return rows;
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }

    private String select(TableSpec table) {
        return "SELECT "
                + String.join(", ", quoted(table.columns()))
                + " FROM "
                + table.id().quoted()
                + where(table);
    }

    private String where(TableSpec table) {
        return applyRowFilter && table.rowFilter() != null
                ? " WHERE (" + table.rowFilter() + ")"
                : "";
    }

    private static List<String> quoted(List<String> names) {
        List<String> out = new ArrayList<>(names.size());
        for (String n : names) {
            out.add(TableId.quote(n));
        }
        return out;
    }

    private static void read(TableSpec table, PreparedStatement ps, Consumer<String[]> sink)
            throws SQLException {
        readPage(table, ps, sink);
    }

    /** Rows read and the last row's values as the server printed them (the next page's start). */
    private record Page(int rows, String[] lastRaw) {}

    private static Page readPage(TableSpec table, PreparedStatement ps, Consumer<String[]> sink)
            throws SQLException {
        int n = table.columns().size();
        int rows = 0;
        String[] raw = null;
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                raw = new String[n];
                for (int i = 0; i < n; i++) {
                    raw[i] = rs.getString(i + 1);
                }
                rows++;
                sink.accept(table.normalize(raw));
            }
        }
        return new Page(rows, raw);
    }
}
