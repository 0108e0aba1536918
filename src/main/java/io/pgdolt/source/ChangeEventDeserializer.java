package io.pgdolt.source;

import io.pgdolt.config.PipelineConfig;
import io.pgdolt.txn.ChangeEvent;
import io.pgdolt.txn.CodecTypeInfo;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.cdc.debezium.DebeziumDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Turns Debezium records into {@link ChangeEvent}s: row changes with their values in PostgreSQL
 * text form, and transaction ENDs (forwarded by {@link TransactionRecordEmitter}).
 *
 * <p>Anything it cannot represent faithfully stops the job with an error naming table, column, xid
 * and LSN (DESIGN invariant 5).
 *
 * <p>Schema changes: pgoutput describes a table again before its first change after an ALTER, and
 * Debezium gives the following records the new value schema (it emits no DDL event). So the columns
 * of each record are compared with those of the table's previous record in this run: a new column
 * becomes a {@link RowChange.Op#COLUMN_ADDED} event ahead of the record (its exact type and the
 * value existing rows got are read from the primary's catalog), and a column that disappeared or
 * changed type becomes a {@link RowChange.Op#SCHEMA_CHANGE_REFUSED} event. Both travel inside their
 * transaction to the sink, which decides there, so that every earlier transaction is applied and
 * nothing of this one is. The first record of a table in a run is compared with the catalog read at
 * start-up, and may lack columns of it: after a restore, records from before an ADD COLUMN are
 * replayed.
 *
 * <p>State: the column layout last seen per table, transient (rebuilt after a restart).
 */
final class ChangeEventDeserializer implements DebeziumDeserializationSchema<ChangeEvent> {
    private static final long serialVersionUID = 1L;

    /** Debezium's {@code column.propagate.source.type} schema parameters. */
    static final String SOURCE_TYPE = "__debezium.source.column.type";

    private static final String SOURCE_LENGTH = "__debezium.source.column.length";
    private static final String SOURCE_SCALE = "__debezium.source.column.scale";

    private final SourceTables published;

    /** For reading an added column's definition; null in tests without a primary. */
    private final PipelineConfig.Primary primary;

    /** Per table, column name to type fingerprint of its last change in this run. */
    private transient Map<TableId, Map<String, String>> layouts;

    /**
     * Per table, the value schema its layout was taken from. Debezium keeps one schema object per
     * table until the table is described again, so an unchanged object means an unchanged layout
     * and the per-row comparison is skipped.
     */
    private transient Map<TableId, Schema> layoutSchemas;

    ChangeEventDeserializer(SourceTables published, PipelineConfig.Primary primary) {
        this.published = published;
        this.primary = primary;
    }

    @Override
    public void deserialize(SourceRecord record, Collector<ChangeEvent> out) {
        if (TransactionRecordEmitter.isTransactionRecord(record)) {
            if (TransactionRecordEmitter.isTransactionEnd(record)) {
                out.collect(toEnd(record));
            }
            return;
        }
        Struct value = (Struct) record.value();
        Struct source = value.getStruct("source");
        String op = value.getString("op");
        TableId table =
                new TableId(
                        repairName(source.getString("schema")),
                        repairName(source.getString("table")));
        Long txId = source.getInt64("txId");
        Long lsn = source.getInt64("lsn");
        // Spelled out only in an error message.
        Where where = new Where(table, txId, lsn);
        RowChange.Op kind;
        switch (op) {
            case "c":
                kind = RowChange.Op.INSERT;
                break;
            case "u":
                kind = RowChange.Op.UPDATE;
                break;
            case "d":
                kind = RowChange.Op.DELETE;
                break;
            case "t":
                kind = RowChange.Op.TRUNCATE;
                break;
            case "r":
                throw new UnsupportedChangeException(
                        "snapshot records are not expected with startup mode stream-only" + where);
            default:
                throw new UnsupportedChangeException(
                        "unknown change operation '" + op + "'" + where);
        }
        if (txId == null || lsn == null) {
            throw new UnsupportedChangeException("change without xid or LSN" + where);
        }
        SourceTables.Table info = published.byId().get(table);
        if (info == null) {
            throw new UnsupportedChangeException(
                    "table "
                            + table
                            + " was not among the tables found at start-up; restart the job to"
                            + " replicate it"
                            + where);
        }
        long prev = previousCommitLsn(source);
        long ts = commitTimeMicros(record, source);
        if (kind == RowChange.Op.TRUNCATE) {
            out.collect(ChangeEvent.change(txId, prev, lsn, ts, RowChange.truncate(table)));
            return;
        }
        String[] keyColumns = new String[0];
        String[] keyValues = new String[0];
        boolean fullRowKey = false;
        if (kind != RowChange.Op.INSERT) {
            // The identity comes from the catalog, not from the record key: pgoutput flags the
            // identity-index or whole-row columns as "key", and the record key holds new values.
            Struct before = value.getStruct("before");
            if (!info.identity().isEmpty()) {
                // Primary key or identity index: the old values arrive only when they changed.
                Struct identitySource = before != null ? before : value.getStruct("after");
                keyColumns = info.identity().toArray(new String[0]);
                keyValues = new String[keyColumns.length];
                for (int k = 0; k < keyColumns.length; k++) {
                    org.apache.kafka.connect.data.Field f =
                            identitySource.schema().field(keyColumns[k]);
                    if (f == null) {
                        throw new UnsupportedChangeException(
                                "identity column "
                                        + keyColumns[k]
                                        + " missing from the change"
                                        + where);
                    }
                    keyValues[k] =
                            ValueText.toText(
                                    f.schema(), identitySource.getWithoutDefault(f.name()));
                }
            } else if (info.fullIdentity()) {
                if (before == null) {
                    throw new UnsupportedChangeException(
                            kind + " without the old row under REPLICA IDENTITY FULL" + where);
                }
                keyColumns = names(before.schema());
                keyValues = texts(before, where);
                fullRowKey = true;
            } else {
                throw new UnsupportedChangeException(
                        kind
                                + " on a table without primary key or replica identity cannot be"
                                + " applied: give the table a primary key or REPLICA IDENTITY FULL"
                                + where);
            }
        }
        String[] columns;
        String[] values;
        if (kind == RowChange.Op.DELETE) {
            columns = new String[0];
            values = new String[0];
        } else {
            Struct after = value.getStruct("after");
            columns = names(after.schema());
            for (RowChange schemaChange : schemaChanges(table, info, after.schema(), where)) {
                out.collect(ChangeEvent.change(txId, prev, lsn, ts, schemaChange));
            }
            values = texts(after, where);
        }
        RowChange change =
                new RowChange(table, kind, keyColumns, keyValues, columns, values, fullRowKey);
        out.collect(ChangeEvent.change(txId, prev, lsn, ts, change));
    }

    /** Where a change comes from, as the end of an error message. */
    private record Where(TableId table, Long xid, Long lsn) {
        @Override
        public String toString() {
            return " (table "
                    + table
                    + ", xid "
                    + xid
                    + ", LSN "
                    + (lsn == null ? "?" : Lsn.of(lsn).toString())
                    + ")";
        }
    }

    /**
     * The schema changes between the table's previous change (or, for its first in this run, the
     * catalog read at start-up) and a new image with schema {@code image}.
     */
    private List<RowChange> schemaChanges(
            TableId table, SourceTables.Table info, Schema image, Where where) {
        if (layouts == null) {
            layouts = new HashMap<>();
            layoutSchemas = new HashMap<>();
        }
        if (layoutSchemas.put(table, image) == image) {
            return List.of();
        }
        Map<String, String> now = new LinkedHashMap<>();
        Map<String, Schema> fields = new HashMap<>();
        for (Field f : image.fields()) {
            String name = repairName(f.name());
            now.put(name, fingerprint(f.schema()));
            fields.put(name, f.schema());
        }
        Map<String, String> before = layouts.put(table, now);
        if (before != null && before.equals(now)) {
            return List.of();
        }
        List<RowChange> changes = new ArrayList<>();
        if (before == null) {
            for (String name : now.keySet()) {
                if (!info.columns().containsKey(name)) {
                    changes.add(describeAdded(table, name, fields.get(name), where));
                }
            }
            return changes;
        }
        List<String> gone = new ArrayList<>();
        for (Map.Entry<String, String> e : before.entrySet()) {
            String type = now.get(e.getKey());
            if (type == null) {
                gone.add(e.getKey());
            } else if (!type.equals(e.getValue())) {
                changes.add(
                        RowChange.refused(
                                table,
                                "column "
                                        + e.getKey()
                                        + " of "
                                        + table
                                        + " changed type on the primary (from "
                                        + e.getValue()
                                        + " to "
                                        + type
                                        + "): ALTER COLUMN ... TYPE is not carried, because the"
                                        + " rows it rewrites are not in the WAL"
                                        + where));
            }
        }
        if (!gone.isEmpty()) {
            changes.add(
                    RowChange.refused(
                            table,
                            "column(s) "
                                    + String.join(", ", gone)
                                    + " of "
                                    + table
                                    + " no longer arrive: dropped or renamed on the primary, or"
                                    + " removed from the publication. pgdolt does not carry this;"
                                    + " change the replica table to match and resume the job"
                                    + where));
        }
        for (String name : now.keySet()) {
            if (!before.containsKey(name)) {
                changes.add(describeAdded(table, name, fields.get(name), where));
            }
        }
        return changes;
    }

    /** A comparable description of a column's type: the primary's type name, length and scale. */
    private static String fingerprint(Schema schema) {
        Map<String, String> p = schema.parameters();
        if (p == null || !p.containsKey(SOURCE_TYPE)) {
            return schema.type() + (schema.name() == null ? "" : " " + schema.name());
        }
        String length = p.get(SOURCE_LENGTH);
        String scale = p.get(SOURCE_SCALE);
        return p.get(SOURCE_TYPE).toLowerCase(java.util.Locale.ROOT)
                + (length == null ? "" : "(" + length + (scale == null ? "" : "," + scale) + ")");
    }

    /**
     * The definition of a column added on the primary, read from its catalog: the exact type, and
     * the value the rows that existed before got (a fast default's stored "missing" value; NULL
     * without a default; unknown after a volatile default, which rewrote the table outside the
     * WAL).
     */
    private RowChange describeAdded(TableId table, String column, Schema schema, Where where) {
        String sourceType =
                schema.parameters() == null ? null : schema.parameters().get(SOURCE_TYPE);
        if (primary == null) {
            return RowChange.columnAdded(table, column, null, sourceType, RowChange.UNCHANGED);
        }
        try (Connection c =
                        DriverManager.getConnection(
                                primary.jdbcUrl(), primary.jdbcProperties("pgdolt-catalog"));
                PreparedStatement ps =
                        c.prepareStatement(
                                // A domain is added as its base type, as create_tables does.
                                "SELECT CASE WHEN ty.typtype = 'd'"
                                        + " THEN format_type(ty.typbasetype, ty.typtypmod)"
                                        + " ELSE format_type(a.atttypid, a.atttypmod) END,"
                                        + " CASE WHEN ty.typtype = 'd' THEN bt.typname"
                                        + " ELSE ty.typname END,"
                                        + " ty.typname, a.atthasmissing,"
                                        + " CASE WHEN a.atthasmissing"
                                        + " THEN (a.attmissingval::text::text[])[1] END,"
                                        + " EXISTS (SELECT 1 FROM pg_attrdef d"
                                        + " WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum)"
                                        + " FROM pg_attribute a"
                                        + " JOIN pg_type ty ON ty.oid = a.atttypid"
                                        + " LEFT JOIN pg_type bt ON bt.oid = ty.typbasetype"
                                        + " WHERE a.attrelid = ?::regclass AND a.attname = ?"
                                        + " AND NOT a.attisdropped")) {
            ps.setString(1, table.quoted());
            ps.setString(2, column);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return RowChange.columnAdded(
                            table, column, null, sourceType, RowChange.UNCHANGED);
                }
                String sqlType = rs.getString(1);
                String typeName = rs.getString(2);
                if (sourceType != null && !sourceType.equalsIgnoreCase(rs.getString(3))) {
                    // Changed again since this change was made: the catalog does not describe it.
                    return RowChange.columnAdded(
                            table, column, null, sourceType, RowChange.UNCHANGED);
                }
                String fill;
                if (rs.getBoolean(4)) {
                    fill = rs.getString(5);
                } else {
                    fill = rs.getBoolean(6) ? RowChange.UNCHANGED : null;
                }
                return RowChange.columnAdded(table, column, sqlType, typeName, fill);
            }
        } catch (SQLException e) {
            throw new UnsupportedChangeException(
                    "cannot read the definition of column "
                            + column
                            + ", added on the primary, from its catalog: "
                            + e.getMessage()
                            + where,
                    e);
        }
    }

    private static ChangeEvent toEnd(SourceRecord record) {
        Struct value = (Struct) record.value();
        long xid = Long.parseLong(value.getString("id").split(":", 2)[0]);
        Object lsn = record.sourceOffset().get("lsn");
        if (!(lsn instanceof Number)) {
            throw new UnsupportedChangeException(
                    "transaction END of xid " + xid + " carries no commit LSN: " + lsn);
        }
        return ChangeEvent.end(xid, 0L, ((Number) lsn).longValue());
    }

    /** {@code source.sequence} is {@code ["<previous commit LSN>","<own LSN>"]}. */
    static long previousCommitLsn(Struct source) {
        String sequence = source.getString("sequence");
        if (sequence == null) {
            return 0L;
        }
        // Parsed in place: this runs for every change.
        int n = sequence.length();
        int i = 0;
        while (i < n && Character.isWhitespace(sequence.charAt(i))) {
            i++;
        }
        if (i == n || sequence.charAt(i) != '[') {
            return 0L;
        }
        i++;
        while (i < n && (Character.isWhitespace(sequence.charAt(i)) || sequence.charAt(i) == '"')) {
            i++;
        }
        if (i == n || sequence.charAt(i) == ']' || sequence.startsWith("null", i)) {
            return 0L;
        }
        int start = i;
        while (i < n && sequence.charAt(i) >= '0' && sequence.charAt(i) <= '9') {
            i++;
        }
        if (i == start) {
            throw new NumberFormatException("unexpected source.sequence " + sequence);
        }
        return Long.parseLong(sequence, start, i, 10);
    }

    private static long commitTimeMicros(SourceRecord record, Struct source) {
        Map<String, ?> offset = record.sourceOffset();
        Object usec = offset == null ? null : offset.get("ts_usec");
        if (usec instanceof Number) {
            return ((Number) usec).longValue();
        }
        Long ms = source.getInt64("ts_ms");
        return ms == null ? 0L : ms * 1000L;
    }

    private static String[] names(Schema schema) {
        List<Field> fields = schema.fields();
        String[] names = new String[fields.size()];
        for (int i = 0; i < names.length; i++) {
            names[i] = repairName(fields.get(i).name());
        }
        return names;
    }

    /**
     * Debezium 1.9's pgoutput decoder reads relation and column names byte by byte as chars, so a
     * non-ASCII name arrives as its UTF-8 bytes sign-extended to U+FF80..U+FFFF. Reassembles the
     * bytes and decodes them as UTF-8; ASCII names are returned as they are.
     */
    static String repairName(String name) {
        boolean mangled = false;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 0x80 && c < 0xFF80) {
                return name; // real non-ASCII text: not the decoder's artefact
            }
            mangled |= c >= 0xFF80;
        }
        if (!mangled) {
            return name;
        }
        byte[] bytes = new byte[name.length()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) name.charAt(i);
        }
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String[] texts(Struct struct, Where where) {
        List<Field> fields = struct.schema().fields();
        String[] texts = new String[fields.size()];
        for (int i = 0; i < texts.length; i++) {
            Field f = fields.get(i);
            try {
                texts[i] = ValueText.toText(f.schema(), struct.getWithoutDefault(f.name()));
            } catch (RuntimeException e) {
                throw new UnsupportedChangeException(
                        "column "
                                + f.name()
                                + ": "
                                + e.getMessage()
                                + where
                                + "; map the column to a supported type or leave it out of the"
                                + " publication",
                        e);
            }
        }
        return texts;
    }

    @Override
    public TypeInformation<ChangeEvent> getProducedType() {
        return CodecTypeInfo.CHANGE_EVENT;
    }

    /** A change the pipeline cannot replicate faithfully. Stops the job. */
    static final class UnsupportedChangeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnsupportedChangeException(String message) {
            super(message);
        }

        UnsupportedChangeException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
