package io.pgdolt.replica;

import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Start-up comparison of the primary's published columns with the replica's tables, so that a
 * replica that cannot take the changes is reported before anything is applied: a missing table or
 * column, an incompatible type (naming both), a replica-only column that would reject inserts, and
 * source types whose values the connector cannot carry exactly.
 */
final class SchemaCheck {
    /** Replica types that hold every value of a narrower primary type unchanged. */
    private static final Map<String, Set<String>> WIDENING =
            Map.of(
                    "int2", Set.of("int4", "int8", "numeric"),
                    "int4", Set.of("int8", "numeric"),
                    "int8", Set.of("numeric"),
                    "float4", Set.of("float8"),
                    "varchar", Set.of("text"),
                    "bpchar", Set.of("text", "varchar"),
                    "json", Set.of("text"),
                    "uuid", Set.of("text"));

    /** Source types the connector cannot deliver exactly, with the reason. */
    private static final Map<String, String> NOT_CARRIED =
            Map.of(
                    "timetz",
                    "the connector converts time with time zone values to UTC and loses their"
                            + " offset",
                    "varbit",
                    "the connector pads bit varying values to the declared length and loses their"
                            + " length");

    private SchemaCheck() {}

    /** A replica column: its type's catalog name, nullability and default. */
    private record Column(String typeName, boolean nullable, boolean hasDefault) {}

    /**
     * @param display per table, published column to the primary's type as it prints
     * @param typeNames per table, published column to the primary's type catalog name
     * @return every problem found, one line each; empty if the replica can take the changes
     */
    static List<String> problems(
            Connection c,
            Map<TableId, ? extends Map<String, String>> display,
            Map<TableId, ? extends Map<String, String>> typeNames)
            throws SQLException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<TableId, ? extends Map<String, String>> e : display.entrySet()) {
            TableId t = e.getKey();
            Map<String, Column> replica = replicaColumns(c, t);
            if (replica.isEmpty()) {
                problems.add("the replica lacks table " + t);
                continue;
            }
            Map<String, String> names = typeNames.get(t);
            for (Map.Entry<String, String> col : e.getValue().entrySet()) {
                String name = col.getKey();
                String primaryType = col.getValue();
                String source = names == null ? null : names.get(name);
                if (source != null && NOT_CARRIED.containsKey(source)) {
                    problems.add(
                            "column "
                                    + name
                                    + " of "
                                    + t
                                    + " ("
                                    + primaryType
                                    + ") cannot be replicated: "
                                    + NOT_CARRIED.get(source));
                    continue;
                }
                Column r = replica.get(name);
                if (r == null) {
                    problems.add(
                            "replica table "
                                    + t
                                    + " has no column \""
                                    + name
                                    + "\" ("
                                    + primaryType
                                    + " on the primary)");
                } else if (source != null && !compatible(source, r.typeName())) {
                    problems.add(
                            "column "
                                    + name
                                    + " of "
                                    + t
                                    + " is "
                                    + primaryType
                                    + " on the primary but "
                                    + r.typeName()
                                    + " on the replica: the replica type cannot hold every value;"
                                    + " give it the primary's type (or a wider one)");
                }
            }
            for (Map.Entry<String, Column> rc : replica.entrySet()) {
                Column r = rc.getValue();
                if (!e.getValue().containsKey(rc.getKey()) && !r.nullable() && !r.hasDefault()) {
                    problems.add(
                            "replica column "
                                    + rc.getKey()
                                    + " of "
                                    + t
                                    + " is NOT NULL without a default and is not replicated:"
                                    + " inserts would fail; make it nullable or give it a default");
                }
            }
        }
        return problems;
    }

    static boolean compatible(String source, String replica) {
        if (source.equals(replica)) {
            return true;
        }
        if (source.startsWith("_") && replica.startsWith("_")) {
            return compatible(source.substring(1), replica.substring(1));
        }
        return WIDENING.getOrDefault(source, Set.of()).contains(replica);
    }

    private static Map<String, Column> replicaColumns(Connection c, TableId t) throws SQLException {
        Map<String, Column> cols = new LinkedHashMap<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT column_name, udt_name, is_nullable, column_default"
                                + " FROM information_schema.columns"
                                + " WHERE table_schema = ? AND table_name = ?")) {
            ps.setString(1, t.schema());
            ps.setString(2, t.table());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    cols.put(
                            rs.getString(1),
                            new Column(
                                    rs.getString(2),
                                    "YES".equalsIgnoreCase(rs.getString(3)),
                                    rs.getString(4) != null));
                }
            }
        }
        return cols;
    }
}
