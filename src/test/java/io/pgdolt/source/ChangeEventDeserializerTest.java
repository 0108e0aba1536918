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

    private static SourceTables published(String... columns) {
        java.util.LinkedHashMap<String, String> cols = new java.util.LinkedHashMap<>();
        for (String c : columns) {
            cols.put(c, "text");
        }
        return new SourceTables(
                Map.of(ITEMS, new SourceTables.Table(cols, Map.of(), List.of("id"), false)));
    }

    private static final SourceTables ALL =
            published("id", "name", "price", "ts", "day", "raw", "score", "ok", "tags");

    private static List<ChangeEvent> deserialize(SourceRecord r) {
        return deserialize(r, ALL);
    }

    private static List<ChangeEvent> deserialize(SourceRecord r, SourceTables tables) {
        List<ChangeEvent> out = new ArrayList<>();
        new ChangeEventDeserializer(tables)
                .deserialize(
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
                        Map.of(ITEMS, new SourceTables.Table(cols, Map.of(), List.of(), true)));
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

    @Test
    void missingOrUnexpectedColumnsStopTheJob() {
        SourceRecord insert = record("c", null, row(7, "x"), 7);
        assertThatThrownBy(
                        () ->
                                deserialize(
                                        insert,
                                        published(
                                                "id", "name", "price", "ts", "day", "raw", "score",
                                                "ok", "tags", "doc")))
                .hasMessageContaining("column(s) doc (text) did not arrive")
                .hasMessageContaining("public.items");
        assertThatThrownBy(() -> deserialize(insert, published("id", "name")))
                .hasMessageContaining("appeared after start-up")
                .hasMessageContaining("price");
        assertThatThrownBy(() -> deserialize(insert, new SourceTables(Map.of())))
                .hasMessageContaining("xid 4711")
                .hasMessageContaining("not among the tables found at start-up");
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
}
