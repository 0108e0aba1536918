package io.pgdolt.replica;

import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Start-up comparison of the primary's published columns with the replica's tables, so that a
 * replica that cannot take the changes is reported before anything is applied: a missing table or
 * column, an incompatible type (naming both), a type the replica lacks and no mapping covers, a
 * replica-only column that would reject inserts, and source types whose values the connector cannot
 * carry exactly. With {@code replica.create_tables}, missing tables are created from the primary's
 * definition once nothing else is wrong.
 */
final class SchemaCheck {
    private static final Logger LOG = LoggerFactory.getLogger(SchemaCheck.class);

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

    /**
     * Source types the connector cannot deliver exactly, with the reason: time with time zone only
     * if Debezium's own pgoutput value class is in effect (see {@code TextValueConverter}).
     */
    private static final Map<String, String> NOT_CARRIED =
            io.pgdolt.source.TextValueConverter.carriesTimetz()
                    ? Map.of()
                    : Map.of(
                            "timetz",
                            "the connector converts time with time zone values to UTC and loses"
                                    + " their offset (Debezium's PgOutputColumnValue is ahead of"
                                    + " pgdolt's on the class path)");

    private SchemaCheck() {}

    /** A replica column: its type's catalog name, nullability and default. */
    record Column(String typeName, boolean nullable, boolean hasDefault) {}

    /**
     * Compares every table with the replica's and, where allowed, creates missing tables.
     *
     * @return every problem found, one line each; empty if the replica can take the changes
     */
    static List<String> problems(
            Connection c, Map<TableId, TableDefinition> tables, SchemaPolicy policy)
            throws SQLException {
        List<String> problems = new ArrayList<>();
        Map<TableId, TableDefinition> toCreate = new LinkedHashMap<>();
        Map<TableId, Map<String, Column>> existing = replicaColumns(c, tables.keySet());
        Map<String, Boolean> knownTypes = new HashMap<>();
        for (Map.Entry<TableId, TableDefinition> e : tables.entrySet()) {
            TableId t = e.getKey();
            TableDefinition def = e.getValue();
            Map<String, Column> replica = existing.getOrDefault(t, Map.of());
            if (replica.isEmpty()) {
                if (!policy.createTables()) {
                    problems.add(
                            "the replica lacks table "
                                    + t
                                    + " (create it, or set replica.create_tables: true to have it"
                                    + " created from the primary's definition)");
                    continue;
                }
                int before = problems.size();
                for (Map.Entry<String, String> col : def.columns().entrySet()) {
                    String why = unsupported(c, t, col.getKey(), def, policy, knownTypes);
                    if (why != null) {
                        problems.add(why);
                    }
                }
                if (problems.size() == before) {
                    toCreate.put(t, def);
                }
                continue;
            }
            for (Map.Entry<String, String> col : def.columns().entrySet()) {
                String name = col.getKey();
                String primaryType = col.getValue();
                String source = def.typeNames().get(name);
                String notCarried = notCarried(t, name, primaryType, source);
                if (notCarried != null) {
                    problems.add(notCarried);
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
                } else if (source != null
                        && !compatible(policy.replicaTypeName(source), r.typeName())) {
                    String lacking = unsupported(c, t, name, def, policy, knownTypes);
                    problems.add(
                            lacking != null
                                    ? lacking
                                    : "column "
                                            + name
                                            + " of "
                                            + t
                                            + " is "
                                            + primaryType
                                            + " on the primary but "
                                            + r.typeName()
                                            + " on the replica: the replica type cannot hold"
                                            + " every value; give it the primary's type (or a"
                                            + " wider one)");
                }
            }
            for (Map.Entry<String, Column> rc : replica.entrySet()) {
                Column r = rc.getValue();
                if (!def.columns().containsKey(rc.getKey()) && !r.nullable() && !r.hasDefault()) {
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
        if (problems.isEmpty()) {
            for (Map.Entry<TableId, TableDefinition> e : toCreate.entrySet()) {
                create(c, e.getKey(), e.getValue(), policy);
            }
        }
        return problems;
    }

    /**
     * Why a column of {@code def} cannot get a replica column: its type is one the connector cannot
     * carry, or one the replica lacks and no mapping covers; null if it can.
     */
    private static String unsupported(
            Connection c,
            TableId t,
            String column,
            TableDefinition def,
            SchemaPolicy policy,
            Map<String, Boolean> knownTypes)
            throws SQLException {
        String typeName = def.typeNames().get(column);
        String display = def.columns().get(column);
        String notCarried = notCarried(t, column, display, typeName);
        if (notCarried != null) {
            return notCarried;
        }
        if (policy.isMapped(typeName) || def.enums().containsKey(display.replace("[]", ""))) {
            return null;
        }
        String ddlType = def.ddlTypes().get(column);
        Boolean known = knownTypes.get(ddlType);
        if (known == null) {
            known = hasType(c, ddlType);
            knownTypes.put(ddlType, known);
        }
        if (known) {
            return null;
        }
        String base = typeName.startsWith("_") ? typeName.substring(1) : typeName;
        return "column "
                + column
                + " of "
                + t
                + " has type "
                + display
                + ", which the replica lacks: map it to text (replica.type_mapping: {"
                + base
                + ": text}) or leave the column out of the publication";
    }

    /** Why a column of a type the connector cannot carry exactly is refused; null otherwise. */
    private static String notCarried(TableId t, String column, String display, String typeName) {
        String why = typeName == null ? null : NOT_CARRIED.get(typeName);
        return why == null
                ? null
                : "column "
                        + column
                        + " of "
                        + t
                        + " ("
                        + display
                        + ") cannot be replicated: "
                        + why;
    }

    /** True if the replica knows {@code sqlType}. Rolls back the open transaction. */
    static boolean hasType(Connection c, String sqlType) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeQuery("SELECT CAST(NULL AS " + sqlType + ")").close();
            return true;
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                throw e;
            }
            return false;
        } finally {
            c.rollback();
        }
    }

    /** Creates {@code t} on the replica from the primary's definition, with its enum types. */
    private static void create(Connection c, TableId t, TableDefinition def, SchemaPolicy policy)
            throws SQLException {
        List<String> statements = new ArrayList<>();
        if (!"public".equals(t.schema())) {
            statements.add("CREATE SCHEMA IF NOT EXISTS " + TableId.quote(t.schema()));
        }
        for (Map.Entry<String, List<String>> en : def.enums().entrySet()) {
            if (!hasType(c, en.getKey())) {
                StringBuilder sql =
                        new StringBuilder("CREATE TYPE ").append(en.getKey()).append(" AS ENUM (");
                for (int i = 0; i < en.getValue().size(); i++) {
                    sql.append(i == 0 ? "" : ", ").append(literal(en.getValue().get(i)));
                }
                statements.add(sql.append(')').toString());
            }
        }
        StringBuilder sql = new StringBuilder("CREATE TABLE ").append(t.quoted()).append(" (");
        boolean first = true;
        for (String column : def.columns().keySet()) {
            sql.append(first ? "" : ", ")
                    .append(TableId.quote(column))
                    .append(' ')
                    .append(
                            policy.replicaDdlType(
                                    def.typeNames().get(column), def.ddlTypes().get(column)));
            if (def.notNull().contains(column)) {
                sql.append(" NOT NULL");
            }
            first = false;
        }
        if (!def.primaryKey().isEmpty()) {
            sql.append(", PRIMARY KEY (");
            for (int i = 0; i < def.primaryKey().size(); i++) {
                sql.append(i == 0 ? "" : ", ").append(TableId.quote(def.primaryKey().get(i)));
            }
            sql.append(')');
        }
        statements.add(sql.append(')').toString());
        try (Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
        c.commit();
        LOG.info("created replica table {}: {}", t, String.join("; ", statements));
    }

    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
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

    static Map<String, Column> replicaColumns(Connection c, TableId t) throws SQLException {
        return replicaColumns(c, List.of(t)).getOrDefault(t, new LinkedHashMap<>());
    }

    /**
     * The replica's columns of each of {@code tables} that exists, in table order. Two catalog
     * queries per schema, whatever the number of tables: on Doltgres each catalog query costs about
     * as much for one table as for all of them (a quarter of a second with 500 tables).
     */
    static Map<TableId, Map<String, Column>> replicaColumns(
            Connection c, Collection<TableId> tables) throws SQLException {
        Map<TableId, Map<String, Column>> out = new LinkedHashMap<>();
        Set<String> schemas = new LinkedHashSet<>();
        Set<TableId> wanted = new HashSet<>(tables);
        for (TableId t : tables) {
            schemas.add(t.schema());
        }
        // One table (a column added while running): ask for it alone.
        String only = tables.size() == 1 ? tables.iterator().next().table() : null;
        for (String schema : schemas) {
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT table_name, column_name, udt_name, is_nullable,"
                                    + " column_default FROM information_schema.columns"
                                    + " WHERE table_schema = ?"
                                    + (only == null ? "" : " AND table_name = ?")
                                    + " ORDER BY table_name, ordinal_position")) {
                bind(ps, schema, only);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        TableId t = new TableId(schema, rs.getString(1));
                        if (wanted.contains(t)) {
                            out.computeIfAbsent(t, k -> new LinkedHashMap<>())
                                    .put(
                                            rs.getString(2),
                                            new Column(
                                                    rs.getString(3),
                                                    "YES".equalsIgnoreCase(rs.getString(4)),
                                                    rs.getString(5) != null));
                        }
                    }
                }
            }
            // A domain compares as its base type (Doltgres's information_schema names the
            // domain where PostgreSQL names the base type).
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT r.relname, a.attname, bt.typname FROM pg_attribute a"
                                    + " JOIN pg_class r ON r.oid = a.attrelid"
                                    + " JOIN pg_namespace n ON n.oid = r.relnamespace"
                                    + " JOIN pg_type t ON t.oid = a.atttypid"
                                    + " JOIN pg_type bt ON bt.oid = t.typbasetype"
                                    + " WHERE n.nspname = ? AND a.attnum > 0"
                                    + " AND t.typtype = 'd'"
                                    + (only == null ? "" : " AND r.relname = ?"))) {
                bind(ps, schema, only);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Column> cols = out.get(new TableId(schema, rs.getString(1)));
                        Column col = cols == null ? null : cols.get(rs.getString(2));
                        if (col != null) {
                            cols.put(
                                    rs.getString(2),
                                    new Column(rs.getString(3), col.nullable(), col.hasDefault()));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Binds a catalog query's schema and, when not null, its one table. */
    static void bind(PreparedStatement ps, String schema, String table) throws SQLException {
        ps.setString(1, schema);
        if (table != null) {
            ps.setString(2, table);
        }
    }
}
