package io.pgdolt.replica;

import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The replica's column types, read from {@code information_schema}, used to cast every bound text
 * value with the replica's own input function. Cached per table for the life of a connection. Not
 * thread-safe.
 *
 * <p>The first table asked for loads its whole schema: two catalog queries, whatever the number of
 * tables. On Doltgres a catalog query costs about the same for one table as for all (a quarter of a
 * second each with 500 tables), so loading table by table made the first transactions touching many
 * tables, and the snapshot, crawl.
 */
final class ColumnTypes {
    private final Map<TableId, Map<String, String>> tables = new HashMap<>();
    private final Set<String> loadedSchemas = new HashSet<>();

    /** Column name to SQL type for a cast, in table order. */
    Map<String, String> of(Connection c, TableId table) throws SQLException {
        Map<String, String> cols = tables.get(table);
        if (cols == null && loadedSchemas.add(table.schema())) {
            read(c, table.schema(), null).forEach(tables::putIfAbsent);
            cols = tables.get(table);
        }
        if (cols == null) {
            // Created or changed since its schema was read.
            cols = read(c, table.schema(), table.table()).get(table);
            if (cols == null) {
                throw new ReplicaSchemaException(
                        "replica table "
                                + table
                                + " does not exist (create it with the primary's"
                                + " columns before starting the job)");
            }
            tables.put(table, cols);
        }
        return cols;
    }

    /** Drops what is cached of {@code table}, after its columns changed. */
    void forget(TableId table) {
        tables.remove(table);
    }

    /**
     * The cast type of {@code column}, or a {@link ReplicaSchemaException} naming what is missing.
     */
    String castType(Connection c, TableId table, String column) throws SQLException {
        String type = of(c, table).get(column);
        if (type == null) {
            throw new ReplicaSchemaException(
                    "replica table " + table + " has no column \"" + column + "\"");
        }
        return type;
    }

    /**
     * The cast types of every table of {@code schema}, or of {@code table} alone when not null.
     *
     * <p>Information_schema names the types; corrections come from {@code pg_attribute}: a domain
     * is cast to its base type (the assignment to the column still checks the domain; Doltgres 1.3
     * cannot cast a bound parameter into a domain), and {@code bit} gets its length (a bare {@code
     * bit} is {@code bit(1)}; Doltgres's information_schema has no length).
     */
    private static Map<TableId, Map<String, String>> read(Connection c, String schema, String table)
            throws SQLException {
        Map<TableId, Map<String, String>> found = new HashMap<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT table_name, column_name, data_type, udt_schema, udt_name"
                                + " FROM information_schema.columns WHERE table_schema = ?"
                                + (table == null ? "" : " AND table_name = ?")
                                + " ORDER BY table_name, ordinal_position")) {
            SchemaCheck.bind(ps, schema, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.computeIfAbsent(
                                    new TableId(schema, rs.getString(1)),
                                    k -> new LinkedHashMap<>())
                            .put(
                                    rs.getString(2),
                                    castType(rs.getString(3), rs.getString(4), rs.getString(5)));
                }
            }
        }
        if (found.isEmpty()) {
            return found;
        }
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT r.relname, a.attname, t.typtype,"
                                + " format_type(t.typbasetype, t.typtypmod),"
                                + " format_type(a.atttypid, a.atttypmod), t.typname"
                                + " FROM pg_attribute a"
                                + " JOIN pg_class r ON r.oid = a.attrelid"
                                + " JOIN pg_namespace n ON n.oid = r.relnamespace"
                                + " JOIN pg_type t ON t.oid = a.atttypid"
                                + " WHERE n.nspname = ?"
                                + (table == null ? "" : " AND r.relname = ?")
                                + " AND a.attnum > 0")) {
            SchemaCheck.bind(ps, schema, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, String> cols = found.get(new TableId(schema, rs.getString(1)));
                    String column = rs.getString(2);
                    if (cols == null || !cols.containsKey(column)) {
                        continue;
                    }
                    if ("d".equals(rs.getString(3))) {
                        cols.put(column, rs.getString(4));
                    } else if ("bit".equals(rs.getString(6))) {
                        cols.put(column, rs.getString(5));
                    }
                }
            }
        }
        return found;
    }

    static String castType(String dataType, String udtSchema, String udtName) {
        // PostgreSQL says data_type ARRAY, Doltgres "integer[]"; both name the element type _elem.
        if (udtName != null && udtName.startsWith("_") && udtName.length() > 1) {
            return castType("", udtSchema, udtName.substring(1)) + "[]";
        }
        if (udtSchema != null
                && !udtSchema.isEmpty()
                && !"pg_catalog".equals(udtSchema)
                && !"information_schema".equals(udtSchema)) {
            return TableId.quote(udtSchema) + "." + TableId.quote(udtName);
        }
        return udtName == null || udtName.isEmpty() ? dataType : udtName;
    }
}
