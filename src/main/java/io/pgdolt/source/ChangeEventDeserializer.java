package io.pgdolt.source;

import io.pgdolt.txn.ChangeEvent;
import io.pgdolt.txn.CodecTypeInfo;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.TableId;
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
 * and LSN (DESIGN invariant 5). Stateless.
 */
final class ChangeEventDeserializer implements DebeziumDeserializationSchema<ChangeEvent> {
    private static final long serialVersionUID = 1L;

    private final SourceTables published;

    ChangeEventDeserializer(SourceTables published) {
        this.published = published;
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
        String where =
                " (table "
                        + table
                        + ", xid "
                        + txId
                        + ", LSN "
                        + (lsn == null ? "?" : Lsn.of(lsn).toString())
                        + ")";
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
                    keyValues[k] = ValueText.toText(f.schema(), identitySource.get(f));
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
            checkColumns(info.columns(), columns, where);
            values = texts(after, where);
        }
        RowChange change =
                new RowChange(table, kind, keyColumns, keyValues, columns, values, fullRowKey);
        out.collect(
                ChangeEvent.change(
                        txId,
                        previousCommitLsn(source),
                        lsn,
                        commitTimeMicros(record, source),
                        change));
    }

    /**
     * The new image must hold exactly the columns published at start-up: Debezium leaves out
     * columns of types it cannot decode, and a schema change would otherwise write rows under the
     * wrong schema.
     */
    private static void checkColumns(Map<String, String> expected, String[] columns, String where) {
        java.util.Set<String> got = new java.util.LinkedHashSet<>(java.util.Arrays.asList(columns));
        List<String> missing = new java.util.ArrayList<>();
        expected.forEach(
                (name, type) -> {
                    if (!got.contains(name)) {
                        missing.add(name + " (" + type + ")");
                    }
                });
        if (!missing.isEmpty()) {
            throw new UnsupportedChangeException(
                    "column(s) "
                            + String.join(", ", missing)
                            + " did not arrive in the change: the connector cannot decode the"
                            + " type, or the column was dropped on the primary; nothing is"
                            + " written under the wrong schema"
                            + where);
        }
        got.removeAll(expected.keySet());
        if (!got.isEmpty()) {
            throw new UnsupportedChangeException(
                    "column(s) "
                            + String.join(", ", got)
                            + " appeared after start-up: the primary's schema changed; add them"
                            + " to the replica and restart the job"
                            + where);
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
        String body = sequence.trim();
        if (!body.startsWith("[")) {
            return 0L;
        }
        String first = body.substring(1, body.length() - 1).split(",", 2)[0].trim();
        if (first.isEmpty() || first.equals("null")) {
            return 0L;
        }
        return Long.parseLong(first.replace("\"", ""));
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

    private static String[] texts(Struct struct, String where) {
        List<Field> fields = struct.schema().fields();
        String[] texts = new String[fields.size()];
        for (int i = 0; i < texts.length; i++) {
            Field f = fields.get(i);
            try {
                texts[i] = ValueText.toText(f.schema(), struct.get(f));
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
