package io.pgdolt.source;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.replica.TableDefinition;
import io.pgdolt.txn.ChangeEvent;
import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.cdc.connectors.base.options.StartupOptions;
import org.apache.flink.cdc.connectors.postgres.source.PostgresSourceBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the Flink CDC Postgres source for a pipeline: pgoutput on the pre-created slot and
 * publication, transaction markers on, and the value handling {@link ValueText} relies on.
 */
public final class PostgresCdcSource {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresCdcSource.class);

    private PostgresCdcSource() {}

    /**
     * The source of the pipeline's change events for {@code tables} (from {@link #checkPrimary}).
     */
    public static Source<ChangeEvent, ?, ?> create(PipelineConfig config, SourceTables published) {
        PipelineConfig.Primary p = config.primary();
        List<TableId> tables = published.tables();
        TreeSet<String> schemas = new TreeSet<>();
        List<String> tablePatterns = new ArrayList<>();
        for (TableId t : tables) {
            schemas.add(t.schema());
            tablePatterns.add(regexQuote(t.schema()) + "\\." + regexQuote(t.table()));
        }
        Properties dbz = new Properties();
        // Transaction END markers (forwarded by TransactionRecordEmitter).
        dbz.setProperty("provide.transaction.metadata", "true");
        // The publication is created by an admin; "filtered" mode loses changes (DESIGN.md).
        dbz.setProperty("publication.autocreate.mode", "disabled");
        dbz.setProperty("publication.name", p.publicationName());
        dbz.setProperty("tombstones.on.delete", "false");
        // Debezium sleeps this long whenever the WAL stream or its queue is empty (default 500
        // ms, twice over): that, not the work, was most of the lag at low load.
        dbz.setProperty("poll.interval.ms", "50");
        // Exact values: numerics of any precision and intervals as text.
        dbz.setProperty("decimal.handling.mode", "string");
        dbz.setProperty("interval.handling.mode", "string");
        dbz.setProperty("binary.handling.mode", "bytes");
        dbz.setProperty("hstore.handling.mode", "json");
        // Deliver TRUNCATE so it can never be skipped silently.
        dbz.setProperty("truncate.handling.mode", "include");
        // Types without a Debezium mapping (tsvector, geometric, ...) arrive as their text output
        // instead of being left out of the event; ValueText passes that text on.
        dbz.setProperty("include.unknown.datatypes", "true");
        // Every column schema names its primary type, length and scale: schema changes are
        // detected by comparing them (ChangeEventDeserializer).
        dbz.setProperty("column.propagate.source.type", ".*");
        // bit varying and arrays as the primary printed them (see TextValueConverter).
        dbz.setProperty("converters", "pgdolttext");
        dbz.setProperty("pgdolttext.type", TextValueConverter.class.getName());
        // TLS for every connection the connector opens (replication and SQL).
        if (p.sslMode() != null) {
            dbz.setProperty("database.sslmode", p.sslMode());
        }
        if (p.sslRootCert() != null) {
            dbz.setProperty("database.sslrootcert", p.sslRootCert());
        }

        PostgresSourceBuilder<ChangeEvent> builder =
                PostgresSourceBuilder.PostgresIncrementalSource.<ChangeEvent>builder()
                        .hostname(p.host())
                        .port(p.port())
                        .database(p.database())
                        .username(p.user())
                        .password(p.password().reveal())
                        .slotName(p.slotName())
                        .decodingPluginName("pgoutput")
                        .startupOptions(StartupOptions.committed())
                        .heartbeatInterval(p.heartbeatInterval())
                        .lsnCommitCheckpointsDelay(config.pipeline().slotConfirmDelayCheckpoints())
                        .debeziumProperties(dbz)
                        .deserializer(new ChangeEventDeserializer(published, p));
        if (!p.tables().isEmpty()) {
            // A chosen subset of the publication. (Replicating the whole publication needs no
            // filter: pgoutput sends only published tables, and Debezium's name patterns do not
            // match every identifier PostgreSQL allows.)
            builder.schemaList(schemas.toArray(new String[0]))
                    .tableList(tablePatterns.toArray(new String[0]));
        }
        LOG.info(
                "source: slot {} publication {} on {}:{}/{}, tables {}",
                p.slotName(),
                p.publicationName(),
                p.host(),
                p.port(),
                p.database(),
                tables);
        return new TransactionAwarePostgresSource<>(
                builder.getConfigFactory(), new ChangeEventDeserializer(published, p));
    }

    /**
     * Checks the slot and publication and returns the tables to replicate: the configured ones
     * (each must be in the publication) or, by default, every table of the publication.
     */
    public static SourceTables checkPrimary(PipelineConfig.Primary p) {
        try (Connection c =
                DriverManager.getConnection(p.jdbcUrl(), p.jdbcProperties("pgdolt-check"))) {
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT plugin, database FROM pg_replication_slots WHERE slot_name"
                                    + " = ?")) {
                ps.setString(1, p.slotName());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new ConfigException(
                                p.key("slot_name")
                                        + ": the primary has no replication"
                                        + " slot '"
                                        + p.slotName()
                                        + "'; create it with SELECT"
                                        + " pg_create_logical_replication_slot('"
                                        + p.slotName()
                                        + "', 'pgoutput')");
                    }
                    if (!"pgoutput".equals(rs.getString(1))) {
                        throw new ConfigException(
                                p.key("slot_name")
                                        + ": slot '"
                                        + p.slotName()
                                        + "' uses plugin "
                                        + rs.getString(1)
                                        + ", not pgoutput");
                    }
                    if (!p.database().equals(rs.getString(2))) {
                        throw new ConfigException(
                                p.key("slot_name")
                                        + ": slot '"
                                        + p.slotName()
                                        + "' belongs to database "
                                        + rs.getString(2)
                                        + ", not "
                                        + p.database());
                    }
                }
            }
            List<TableId> published = new ArrayList<>();
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT schemaname, tablename FROM pg_publication_tables"
                                    + " WHERE pubname = ? ORDER BY 1, 2")) {
                ps.setString(1, p.publicationName());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        published.add(new TableId(rs.getString(1), rs.getString(2)));
                    }
                }
            }
            boolean exists;
            try (PreparedStatement ps =
                    c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
                ps.setString(1, p.publicationName());
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            if (!exists) {
                throw new ConfigException(
                        p.key("publication_name")
                                + ": the primary has no publication '"
                                + p.publicationName()
                                + "'; create it with CREATE PUBLICATION "
                                + TableId.quote(p.publicationName())
                                + " FOR TABLE ...");
            }
            if (p.tables().isEmpty()) {
                if (published.isEmpty()) {
                    throw new ConfigException(
                            p.key("publication_name")
                                    + ": publication '"
                                    + p.publicationName()
                                    + "' holds no tables");
                }
                return withColumns(c, p, published);
            }
            for (TableId t : p.tables()) {
                if (!published.contains(t)) {
                    throw new ConfigException(
                            p.key("tables")
                                    + ": table "
                                    + t
                                    + " is not in publication '"
                                    + p.publicationName()
                                    + "' (it holds "
                                    + published
                                    + ")");
                }
            }
            return withColumns(c, p, p.tables());
        } catch (SQLException e) {
            throw new ConfigException(
                    "cannot check the primary at "
                            + p.host()
                            + ":"
                            + p.port()
                            + "/"
                            + p.database()
                            + " as "
                            + p.user()
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** Reads the published columns of each table (PostgreSQL 15+ may publish a subset). */
    private static SourceTables withColumns(
            Connection c, PipelineConfig.Primary p, List<TableId> tables) throws SQLException {
        boolean columnLists = c.getMetaData().getDatabaseMajorVersion() >= 15;
        Map<TableId, SourceTables.Table> byId = new HashMap<>();
        for (TableId t : tables) {
            Set<String> published = null;
            if (columnLists) {
                try (PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT attnames FROM pg_publication_tables WHERE pubname = ? AND"
                                        + " schemaname = ? AND tablename = ?")) {
                    ps.setString(1, p.publicationName());
                    ps.setString(2, t.schema());
                    ps.setString(3, t.table());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next() && rs.getArray(1) != null) {
                            published =
                                    new HashSet<>(
                                            Arrays.asList((String[]) rs.getArray(1).getArray()));
                        }
                    }
                }
            }
            LinkedHashMap<String, String> cols = new LinkedHashMap<>();
            Map<String, String> typeNames = new HashMap<>();
            Set<String> notNull = new HashSet<>();
            Map<String, List<String>> enums = new HashMap<>();
            Map<String, String> ddlTypes = new HashMap<>();
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
                                    // A domain compares as its base type, as the replica's
                                    // information_schema reports it.
                                    + " CASE WHEN ty.typtype = 'd' THEN bt.typname"
                                    + " ELSE ty.typname END,"
                                    + " a.attnotnull,"
                                    + " CASE WHEN ty.typtype = 'e' THEN ty.oid"
                                    + " WHEN et.typtype = 'e' THEN et.oid END::int8,"
                                    + " CASE WHEN ty.typtype = 'd'"
                                    + " THEN format_type(ty.typbasetype, ty.typtypmod)"
                                    + " ELSE format_type(a.atttypid, a.atttypmod) END"
                                    + " FROM pg_attribute a"
                                    + " JOIN pg_type ty ON ty.oid = a.atttypid"
                                    + " LEFT JOIN pg_type bt ON bt.oid = ty.typbasetype"
                                    + " LEFT JOIN pg_type et ON et.oid = ty.typelem"
                                    + " AND ty.typcategory = 'A'"
                                    + " JOIN pg_class r ON r.oid = a.attrelid"
                                    + " JOIN pg_namespace n ON n.oid = r.relnamespace"
                                    + " WHERE n.nspname = ? AND r.relname = ? AND a.attnum > 0"
                                    + " AND NOT a.attisdropped AND a.attgenerated = ''"
                                    + " ORDER BY a.attnum")) {
                ps.setString(1, t.schema());
                ps.setString(2, t.table());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String name = rs.getString(1);
                        if (published != null && !published.contains(name)) {
                            continue;
                        }
                        String display = rs.getString(2);
                        cols.put(name, display);
                        typeNames.put(name, rs.getString(3));
                        if (rs.getBoolean(4)) {
                            notNull.add(name);
                        }
                        long enumOid = rs.getLong(5);
                        if (!rs.wasNull()) {
                            enums.putAll(enumType(c, enumOid));
                        }
                        ddlTypes.put(name, rs.getString(6));
                    }
                }
            }
            byId.put(t, identity(c, t, cols, typeNames, ddlTypes, notNull, enums));
        }
        return new SourceTables(byId);
    }

    /**
     * The table's replica identity: the identity index or primary key columns (a primary key also
     * under FULL, as the cheaper match), or — FULL without a key — the whole old row.
     */
    private static SourceTables.Table identity(
            Connection c,
            TableId t,
            LinkedHashMap<String, String> cols,
            Map<String, String> typeNames,
            Map<String, String> ddlTypes,
            Set<String> notNull,
            Map<String, List<String>> enums)
            throws SQLException {
        char kind;
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT r.relreplident FROM pg_class r"
                                + " JOIN pg_namespace n ON n.oid = r.relnamespace"
                                + " WHERE n.nspname = ? AND r.relname = ?")) {
            ps.setString(1, t.schema());
            ps.setString(2, t.table());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                kind = rs.getString(1).charAt(0);
            }
        }
        List<String> identity =
                kind == 'd' || kind == 'i' || kind == 'f'
                        ? keyColumns(c, t, kind == 'i' ? "i.indisreplident" : "i.indisprimary")
                        : List.of();
        List<String> primaryKey =
                kind == 'i' ? keyColumns(c, t, "i.indisprimary") : List.copyOf(identity);
        return new SourceTables.Table(
                new TableDefinition(cols, typeNames, ddlTypes, notNull, primaryKey, enums),
                identity,
                kind == 'f');
    }

    private static List<String> keyColumns(Connection c, TableId t, String which)
            throws SQLException {
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT a.attname FROM pg_index i"
                                + " JOIN pg_class r ON r.oid = i.indrelid"
                                + " JOIN pg_namespace n ON n.oid = r.relnamespace"
                                + " JOIN pg_attribute a ON a.attrelid = r.oid"
                                + " AND a.attnum = ANY(i.indkey)"
                                + " WHERE n.nspname = ? AND r.relname = ? AND "
                                + which
                                + " ORDER BY array_position(i.indkey::int2[], a.attnum)")) {
            ps.setString(1, t.schema());
            ps.setString(2, t.table());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    key.add(rs.getString(1));
                }
            }
        }
        return key;
    }

    /** The enum type {@code oid} as {@code format_type} prints it, with its labels in order. */
    private static Map<String, List<String>> enumType(Connection c, long oid) throws SQLException {
        String name = null;
        List<String> labels = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT format_type(t.oid, NULL), e.enumlabel FROM pg_type t"
                                + " LEFT JOIN pg_enum e ON e.enumtypid = t.oid"
                                + " WHERE t.oid = ?::oid ORDER BY e.enumsortorder")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    name = rs.getString(1);
                    if (rs.getString(2) != null) {
                        labels.add(rs.getString(2));
                    }
                }
            }
        }
        return name == null ? Map.of() : Map.of(name, labels);
    }

    private static String regexQuote(String name) {
        StringBuilder sb = new StringBuilder();
        for (char ch : name.toCharArray()) {
            if ("\\^$.|?*+()[]{}".indexOf(ch) >= 0) {
                sb.append('\\');
            }
            sb.append(ch);
        }
        return sb.toString();
    }
}
