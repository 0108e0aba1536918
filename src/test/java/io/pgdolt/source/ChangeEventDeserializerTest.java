package io.pgdolt.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.txn.ChangeEvent;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.TableId;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.util.Collector;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/** Debezium records, shaped as the Postgres connector emits them, into change events. */
class ChangeEventDeserializerTest {
    private static final Schema SOURCE =
            SchemaBuilder.struct()
                    .name("io.debezium.connector.postgresql.Source")
                    .field("schema", Schema.STRING_SCHEMA)
                    .field("table", Schema.STRING_SCHEMA)
                    .field("txId", Schema.OPTIONAL_INT64_SCHEMA)
                    .field("lsn", Schema.OPTIONAL_INT64_SCHEMA)
                    .field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA)
                    .field("sequence", Schema.OPTIONAL_STRING_SCHEMA)
                    .build();
    private static final Schema KEY =
            SchemaBuilder.struct().name("k").field("id", Schema.INT32_SCHEMA).build();
    private static final Schema ROW =
            SchemaBuilder.struct()
                    .name("row")
                    .optional()
                    .field("id", Schema.INT32_SCHEMA)
                    .field("name", Schema.OPTIONAL_STRING_SCHEMA)
                    .field("price", SchemaBuilder.string().optional().build())
                    .field(
                            "ts",
                            SchemaBuilder.int64()
                                    .name("io.debezium.time.MicroTimestamp")
                                    .optional()
                                    .build())
                    .field(
                            "day",
                            SchemaBuilder.int32().name("io.debezium.time.Date").optional().build())
                    .field("raw", Schema.OPTIONAL_BYTES_SCHEMA)
                    .field("score", Schema.OPTIONAL_FLOAT64_SCHEMA)
                    .field("ok", Schema.OPTIONAL_BOOLEAN_SCHEMA)
                    .field(
                            "tags",
                            SchemaBuilder.array(Schema.OPTIONAL_STRING_SCHEMA).optional().build())
                    .build();
    private static final Schema ENVELOPE =
            SchemaBuilder.struct()
                    .name("envelope")
                    .field("before", ROW)
                    .field("after", ROW)
                    .field("source", SOURCE)
                    .field("op", Schema.STRING_SCHEMA)
                    .build();

    private static Struct row(int id, String name) {
        return new Struct(ROW)
                .put("id", id)
                .put("name", name)
                .put("price", "12345678901234567890123456789012345678901.5")
                .put("ts", 1_700_000_000_123_456L)
                .put("day", -1)
                .put("raw", ByteBuffer.wrap(new byte[] {0, (byte) 0xff, 0x10}))
                .put("score", Double.NaN)
                .put("ok", true)
                .put("tags", java.util.Arrays.asList("a\"b", null, "c\\d"));
    }

    private static SourceRecord record(String op, Struct before, Struct after, int id) {
        Struct source =
                new Struct(SOURCE)
                        .put("schema", "public")
                        .put("table", "items")
                        .put("txId", 4711L)
                        .put("lsn", 5000L)
                        .put("ts_ms", 1_700_000_000_123L)
                        .put("sequence", "[\"4000\",\"5000\"]");
        Struct value =
                new Struct(ENVELOPE)
                        .put("before", before)
                        .put("after", after)
                        .put("source", source)
                        .put("op", op);
        Map<String, Object> offset = new HashMap<>();
        offset.put("lsn", 5000L);
        offset.put("ts_usec", 1_700_000_000_123_456L);
        return new SourceRecord(
                Map.of(), offset, "t", null, KEY, new Struct(KEY).put("id", id), ENVELOPE, value);
    }

    private static final TableId ITEMS = new TableId("public", "items");

    private static io.pgdolt.replica.TableDefinition definition(
            java.util.LinkedHashMap<String, String> cols, List<String> key) {
        return new io.pgdolt.replica.TableDefinition(
                cols, Map.of(), Map.of(), java.util.Set.of(), key, Map.of());
    }

    private static SourceTables published(String... columns) {
        java.util.LinkedHashMap<String, String> cols = new java.util.LinkedHashMap<>();
        for (String c : columns) {
            cols.put(c, "text");
        }
        return new SourceTables(
                Map.of(
                        ITEMS,
                        new SourceTables.Table(
                                definition(cols, List.of("id")), List.of("id"), false)));
    }

    private static final SourceTables ALL =
            published("id", "name", "price", "ts", "day", "raw", "score", "ok", "tags");

    private static List<ChangeEvent> deserialize(SourceRecord r) {
        return deserialize(r, ALL);
    }

    private static List<ChangeEvent> deserialize(SourceRecord r, SourceTables tables) {
        return deserialize(r, new ChangeEventDeserializer(tables, null));
    }

    private static List<ChangeEvent> deserialize(SourceRecord r, ChangeEventDeserializer d) {
        List<ChangeEvent> out = new ArrayList<>();
        d.deserialize(
                r,
                new Collector<>() {
                    @Override
                    public void collect(ChangeEvent record) {
                        out.add(record);
                    }

                    @Override
                    public void close() {}
                });
        return out;
    }

    @Test
    void previousCommitLsnIsTheSequencesFirstNumber() {
        Struct source = new Struct(SOURCE).put("schema", "public").put("table", "items");
        String[][] cases = {
            {"[\"4000\",\"5000\"]", "4000"},
            {" [ \"18446744073709551\" , \"1\" ]", "18446744073709551"},
            {"[null,\"5000\"]", "0"},
            {"[]", "0"},
            {"garbage", "0"},
        };
        for (String[] c : cases) {
            source.put("sequence", c[0]);
            assertThat(ChangeEventDeserializer.previousCommitLsn(source))
                    .as(c[0])
                    .isEqualTo(Long.parseLong(c[1]));
        }
        source.put("sequence", null);
        assertThat(ChangeEventDeserializer.previousCommitLsn(source)).isZero();
        source.put("sequence", "[\"\",\"5000\"]");
        assertThatThrownBy(() -> ChangeEventDeserializer.previousCommitLsn(source))
                .isInstanceOf(NumberFormatException.class);
    }

    @Test
    void insertCarriesValuesAsPostgresText() {
        ChangeEvent e = deserialize(record("c", null, row(7, "O'Neil"), 7)).get(0);
        assertThat(e.xid()).isEqualTo(4711);
        assertThat(e.prevCommitLsn()).isEqualTo(4000);
        assertThat(e.lsn()).isEqualTo(5000);
        assertThat(e.commitTimeMicros()).isEqualTo(1_700_000_000_123_456L);
        RowChange c = e.change();
        assertThat(c.table()).isEqualTo(new TableId("public", "items"));
        assertThat(c.op()).isEqualTo(RowChange.Op.INSERT);
        assertThat(c.keyColumns()).isEmpty();
        assertThat(c.columns())
                .containsExactly("id", "name", "price", "ts", "day", "raw", "score", "ok", "tags");
        assertThat(c.values())
                .containsExactly(
                        "7",
                        "O'Neil",
                        "12345678901234567890123456789012345678901.5",
                        "2023-11-14 22:13:20.123456",
                        "1969-12-31",
                        "\\x00ff10",
                        "NaN",
                        "t",
                        "{\"a\\\"b\",NULL,\"c\\\\d\"}");
    }

    @Test
    void deleteCarriesOnlyTheKeyAndUnchangedToastIsMarked() {
        RowChange d = deserialize(record("d", row(7, "x"), null, 7)).get(0).change();
        assertThat(d.op()).isEqualTo(RowChange.Op.DELETE);
        assertThat(d.columns()).isEmpty();
        assertThat(d.keyValues()).containsExactly("7");

        RowChange u =
                deserialize(record("u", null, row(7, "__debezium_unavailable_value"), 7))
                        .get(0)
                        .change();
        assertThat(RowChange.isUnchanged(u.values()[1])).isTrue();
    }

    @Test
    void transactionEndBecomesAnEndEvent() {
        Schema txValue =
                SchemaBuilder.struct()
                        .name("io.debezium.connector.common.TransactionMetadataValue")
                        .field("status", Schema.STRING_SCHEMA)
                        .field("id", Schema.STRING_SCHEMA)
                        .build();
        Map<String, Object> offset = Map.of("lsn", 6000L, "transaction_id", "4711");
        SourceRecord end =
                new SourceRecord(
                        Map.of(),
                        offset,
                        "tx",
                        null,
                        null,
                        null,
                        txValue,
                        new Struct(txValue).put("status", "END").put("id", "4711"));
        assertThat(deserialize(end)).containsExactly(ChangeEvent.end(4711, 0, 6000));
        SourceRecord begin =
                new SourceRecord(
                        Map.of(),
                        offset,
                        "tx",
                        null,
                        null,
                        null,
                        txValue,
                        new Struct(txValue).put("status", "BEGIN").put("id", "4711"));
        assertThat(deserialize(begin)).isEmpty();
        assertThat(TransactionRecordEmitter.withoutTransactionKeys(end)).containsOnlyKeys("lsn");
    }

    @Test
    void refusesWhatItCannotApplyFaithfully() {
        assertThat(deserialize(record("t", null, null, 7)).get(0).change())
                .isEqualTo(RowChange.truncate(ITEMS));
        Schema geo =
                SchemaBuilder.struct().name("io.debezium.data.geometry.Point").optional().build();
        assertThatThrownBy(() -> ValueText.toText(geo, new Struct(geo)))
                .hasMessageContaining("geometric");
    }

    @Test
    void keylessTableUnderFullIdentityIsMatchedOnTheWholeOldRow() {
        java.util.LinkedHashMap<String, String> cols = new java.util.LinkedHashMap<>();
        for (String c :
                new String[] {"id", "name", "price", "ts", "day", "raw", "score", "ok", "tags"}) {
            cols.put(c, "text");
        }
        SourceTables keyless =
                new SourceTables(
                        Map.of(
                                ITEMS,
                                new SourceTables.Table(
                                        definition(cols, List.of()), List.of(), true)));
        RowChange u =
                deserialize(record("u", row(7, "old"), row(7, "new"), 7), keyless).get(0).change();
        assertThat(u.fullRowKey()).isTrue();
        assertThat(u.keyColumns()).hasSize(9);
        assertThat(u.keyValues()[1]).isEqualTo("old");
        assertThat(u.values()[1]).isEqualTo("new");
    }

    @Test
    void intervalsBecomePostgresVerboseText() {
        assertThat(ValueText.intervalText("P1Y2M3DT4H5M6.788999999S"))
                .isEqualTo("1 years 2 mons 3 days 4 hours 5 mins 6.789000 secs");
        assertThat(ValueText.intervalText("P0Y0M-1DT0H0M0S"))
                .isEqualTo("0 years 0 mons -1 days 0 hours 0 mins 0.000000 secs");
        assertThat(ValueText.intervalText("PT0.000001S")).isEqualTo("0.000001 secs");
    }

    @Test
    void repairsNamesDebeziumDecodedByteByByte() {
        byte[] utf8 = "Tab\"le ü🚀".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder mangled = new StringBuilder();
        for (byte b : utf8) {
            mangled.append((char) b);
        }
        assertThat(ChangeEventDeserializer.repairName(mangled.toString())).isEqualTo("Tab\"le ü🚀");
        assertThat(ChangeEventDeserializer.repairName("plain_name")).isEqualTo("plain_name");
        assertThat(ChangeEventDeserializer.repairName("already ü")).isEqualTo("already ü");
    }

    /** An insert into items with the given (name, primary type) columns, all text values. */
    private static SourceRecord insertWith(String... columnsAndTypes) {
        SchemaBuilder rowSchema = SchemaBuilder.struct().name("row2").optional();
        for (int i = 0; i < columnsAndTypes.length; i += 2) {
            rowSchema.field(
                    columnsAndTypes[i],
                    SchemaBuilder.string()
                            .optional()
                            .parameter(ChangeEventDeserializer.SOURCE_TYPE, columnsAndTypes[i + 1])
                            .build());
        }
        Schema row = rowSchema.build();
        Struct after = new Struct(row);
        for (int i = 0; i < columnsAndTypes.length; i += 2) {
            after.put(columnsAndTypes[i], "v" + i);
        }
        return insertOf(after);
    }

    /** An insert into items (xid 4711, LSN 5000) whose new row is {@code after}. */
    private static SourceRecord insertOf(Struct after) {
        Schema envelope =
                SchemaBuilder.struct()
                        .field("before", after.schema())
                        .field("after", after.schema())
                        .field("source", SOURCE)
                        .field("op", Schema.STRING_SCHEMA)
                        .build();
        Struct source =
                new Struct(SOURCE)
                        .put("schema", "public")
                        .put("table", "items")
                        .put("txId", 4711L)
                        .put("lsn", 5000L)
                        .put("ts_ms", 1_700_000_000_123L)
                        .put("sequence", "[\"4000\",\"5000\"]");
        Struct value =
                new Struct(envelope).put("after", after).put("source", source).put("op", "c");
        return new SourceRecord(
                Map.of(), Map.of("lsn", 5000L), "t", null, null, null, envelope, value);
    }

    private static List<RowChange.Op> ops(List<ChangeEvent> events) {
        return events.stream().map(e -> e.change().op()).toList();
    }

    @Test
    void schemaChangesBecomeEventsAheadOfTheirRow() {
        ChangeEventDeserializer d =
                new ChangeEventDeserializer(published("id", "name", "doc"), null);
        // First change in this run lacks a start-up column: a replayed change from before the
        // column was added. Nothing to report.
        assertThat(ops(deserialize(insertWith("id", "INT4", "name", "TEXT"), d)))
                .containsExactly(RowChange.Op.INSERT);
        // The column appears: announced before the row that carries it.
        List<ChangeEvent> added =
                deserialize(insertWith("id", "INT4", "name", "TEXT", "doc", "TEXT"), d);
        assertThat(ops(added)).containsExactly(RowChange.Op.COLUMN_ADDED, RowChange.Op.INSERT);
        assertThat(added.get(0).change().addedColumn()).isEqualTo("doc");
        assertThat(added.get(0).xid()).isEqualTo(4711L);
        // Without a primary to ask, the definition is unknown: the sink refuses to guess.
        assertThat(added.get(0).change().addedType()).isNull();
        assertThat(RowChange.isUnchanged(added.get(0).change().addedFill())).isTrue();
        // Same layout again: nothing to report.
        assertThat(ops(deserialize(insertWith("id", "INT4", "name", "TEXT", "doc", "TEXT"), d)))
                .containsExactly(RowChange.Op.INSERT);
        // A column changes type, another disappears: both refused, naming table and column.
        List<ChangeEvent> changed = deserialize(insertWith("id", "INT8", "name", "TEXT"), d);
        assertThat(ops(changed))
                .containsExactly(
                        RowChange.Op.SCHEMA_CHANGE_REFUSED,
                        RowChange.Op.SCHEMA_CHANGE_REFUSED,
                        RowChange.Op.INSERT);
        assertThat(changed.get(0).change().refusal())
                .contains("column id of public.items changed type")
                .contains("from int4 to int8")
                .contains("xid 4711");
        assertThat(changed.get(1).change().refusal())
                .contains("column(s) doc of public.items no longer arrive");
    }

    @Test
    void explicitNullIsNotReplacedByTheColumnDefault() {
        // Debezium puts a column's DEFAULT into the Connect schema, and Struct.get returns it for
        // a null value: a NULL written on purpose would arrive as the default.
        Schema row =
                SchemaBuilder.struct()
                        .name("row3")
                        .optional()
                        .field("id", Schema.INT32_SCHEMA)
                        .field(
                                "name",
                                SchemaBuilder.string().optional().defaultValue("dflt").build())
                        .build();
        SourceRecord r = insertOf(new Struct(row).put("id", 1).put("name", null));
        RowChange insert = deserialize(r, published("id", "name")).get(0).change();
        assertThat(insert.values()).containsExactly("1", null);
    }

    @Test
    void tableUnknownAtStartUpStopsTheJob() {
        SourceRecord insert = record("c", null, row(7, "x"), 7);
        assertThatThrownBy(() -> deserialize(insert, new SourceTables(Map.of())))
                .hasMessageContaining("xid 4711")
                .hasMessageContaining("not among the tables found at start-up");
    }

    @Test
    void unknownTypesArriveAsTheirText() {
        Schema tsvector =
                SchemaBuilder.bytes()
                        .optional()
                        .parameter(ChangeEventDeserializer.SOURCE_TYPE, "TSVECTOR")
                        .build();
        Schema bytea =
                SchemaBuilder.bytes()
                        .optional()
                        .parameter(ChangeEventDeserializer.SOURCE_TYPE, "BYTEA")
                        .build();
        byte[] text = "'fat':2 'rat':3".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(ValueText.toText(tsvector, text)).isEqualTo("'fat':2 'rat':3");
        assertThat(ValueText.toText(bytea, new byte[] {1, (byte) 0xab})).isEqualTo("\\x01ab");
        Schema tsvectors =
                SchemaBuilder.array(Schema.OPTIONAL_BYTES_SCHEMA)
                        .optional()
                        .parameter(ChangeEventDeserializer.SOURCE_TYPE, "_TSVECTOR")
                        .build();
        assertThat(ValueText.toText(tsvectors, java.util.Arrays.asList(text, null)))
                .isEqualTo("{\"'fat':2 'rat':3\",NULL}");
    }

    @Test
    void valueTextCoversTimesAndNumbers() {
        Schema micro = SchemaBuilder.int64().name("io.debezium.time.MicroTime").build();
        assertThat(ValueText.toText(micro, 3_723_000_001L)).isEqualTo("01:02:03.000001");
        Schema vsd =
                SchemaBuilder.struct()
                        .name("io.debezium.data.VariableScaleDecimal")
                        .field("scale", Schema.INT32_SCHEMA)
                        .field("value", Schema.BYTES_SCHEMA)
                        .build();
        Struct v =
                new Struct(vsd)
                        .put("scale", 3)
                        .put("value", new BigDecimal("-12.345").unscaledValue().toByteArray());
        assertThat(ValueText.toText(vsd, v)).isEqualTo("-12.345");
        Schema ts = SchemaBuilder.int64().name("io.debezium.time.MicroTimestamp").build();
        assertThat(ValueText.toText(ts, -62_135_596_800_000_000L - 86_400_000_000L))
                .isEqualTo("0001-12-31 00:00:00.000000 BC");
        assertThat(ValueText.toText(Schema.FLOAT32_SCHEMA, Float.NEGATIVE_INFINITY))
                .isEqualTo("-Infinity");
        Schema bits =
                SchemaBuilder.bytes()
                        .name("io.debezium.data.Bits")
                        .parameter("length", "5")
                        .build();
        assertThat(ValueText.toText(bits, new byte[] {0b00101})).isEqualTo("00101");
    }

    @Test
    void infiniteAndFarTimestampsKeepPostgresForm() {
        Schema ts = SchemaBuilder.int64().name("io.debezium.time.MicroTimestamp").build();
        assertThat(ValueText.toText(ts, 9223372036825200000L)).isEqualTo("infinity");
        assertThat(ValueText.toText(ts, -9223372036832400000L)).isEqualTo("-infinity");
        // 10000-01-01: five-digit year, no sign.
        assertThat(ValueText.toText(ts, 253402300800000000L))
                .isEqualTo("10000-01-01 00:00:00.000000");
        // An overflowed value (a timestamp beyond 294247 AD) is refused, never written.
        assertThatThrownBy(() -> ValueText.toText(ts, Long.MIN_VALUE + 5))
                .hasMessageContaining("overflows");
        Schema millis = SchemaBuilder.int64().name("io.debezium.time.Timestamp").build();
        assertThat(ValueText.toText(millis, 9223372036825200L)).isEqualTo("infinity");
        Schema date = SchemaBuilder.int32().name("io.debezium.time.Date").build();
        assertThat(
                        ValueText.toText(
                                date,
                                (int) java.time.LocalDate.parse("-5877611-06-21").toEpochDay()))
                .isEqualTo("infinity");
        assertThat(ValueText.toText(date, (int) java.time.LocalDate.of(20000, 2, 29).toEpochDay()))
                .isEqualTo("20000-02-29");
        Schema tstz = SchemaBuilder.string().name("io.debezium.time.ZonedTimestamp").build();
        assertThat(ValueText.toText(tstz, "+12000-06-01T12:00:00.25Z"))
                .isEqualTo("12000-06-01 12:00:00.250000+00");
        assertThat(ValueText.toText(tstz, "-0043-03-15T12:00:00Z"))
                .isEqualTo("0044-03-15 12:00:00.000000+00 BC");
        assertThat(ValueText.toText(tstz, "-infinity")).isEqualTo("-infinity");
        Schema bit1 =
                SchemaBuilder.bool().parameter(ChangeEventDeserializer.SOURCE_TYPE, "BIT").build();
        assertThat(ValueText.toText(bit1, true)).isEqualTo("1");
    }
}
