package io.pgdolt.it;

import io.pgdolt.testing.Db;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Edge values of every type family both ends support, inserted, updated and deleted on the primary,
 * read back from the replica: equal as text (each server's own output function, session time zone
 * UTC) and as JDBC values.
 */
@ExtendWith(TestServers.class)
class TypeFidelityITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    /** Table name, column type, and edge values as SQL literals (row ids are assigned). */
    private record Family(String table, String type, List<String> values) {}

    private static final String BIG_TEXT = "'" + "0123456789abcdef".repeat(70_000) + "'";

    private static final List<Family> FAMILIES =
            List.of(
                    new Family("t_bool", "boolean", List.of("true", "false", "NULL")),
                    new Family("t_int2", "smallint", List.of("-32768", "32767", "0")),
                    new Family("t_int4", "integer", List.of("-2147483648", "2147483647")),
                    new Family(
                            "t_int8",
                            "bigint",
                            List.of("-9223372036854775808", "9223372036854775807")),
                    new Family(
                            "t_float4",
                            "real",
                            List.of(
                                    "'NaN'",
                                    "'Infinity'",
                                    "'-Infinity'",
                                    "'-0'",
                                    "3.4028235e38",
                                    "1.17549435e-38",
                                    "0.1")),
                    new Family(
                            "t_float8",
                            "double precision",
                            List.of(
                                    "'NaN'",
                                    "'Infinity'",
                                    "'-Infinity'",
                                    "'-0'",
                                    "1.7976931348623157e308",
                                    "4.9e-324",
                                    "0.1")),
                    new Family(
                            "t_numeric",
                            "numeric",
                            List.of(
                                    "'NaN'",
                                    "0",
                                    "-1.5",
                                    "123456789012345678901234567890123456789012345.678901234567890",
                                    "0.000000000000000000000000000000000000001")),
                    new Family(
                            "t_numeric_typmod",
                            "numeric(12,4)",
                            List.of("12345678.1234", "-0.0001")),
                    new Family(
                            "t_text",
                            "text",
                            List.of(
                                    "''",
                                    "NULL",
                                    "'O''Brien \"quoted\"'",
                                    "E'back\\\\slash'",
                                    "'ünïcödé ✓ 🚀 漢字'",
                                    "E'tab\\tnew\\nline'",
                                    BIG_TEXT)),
                    new Family("t_varchar", "varchar(20)", List.of("'short'", "''")),
                    new Family("t_char", "char(5)", List.of("'ab'", "'abcde'")),
                    new Family(
                            "t_bytea",
                            "bytea",
                            List.of("'\\x'", "'\\x00ff10'", "decode(repeat('ab', 600000), 'hex')")),
                    new Family(
                            "t_date",
                            "date",
                            List.of(
                                    "'2026-11-26'",
                                    "'0001-01-01'",
                                    "'4713-01-01 BC'",
                                    "'9999-12-31'")),
                    new Family(
                            "t_time",
                            "time",
                            List.of("'00:00:00'", "'23:59:59.999999'", "'12:34:56.123456'")),
                    new Family(
                            "t_timestamp",
                            "timestamp",
                            List.of(
                                    "'2026-11-26 10:00:00.123456'", "'1970-01-01 00:00:00'",
                                    "'0001-01-01 00:00:00'", "'1999-12-31 23:59:59.999999'")),
                    new Family(
                            "t_timestamptz",
                            "timestamptz",
                            List.of(
                                    "'2026-11-26 10:00:00.123456+05:30'",
                                    "'1970-01-01 00:00:00Z'",
                                    "'2038-01-19 03:14:08-08'")),
                    new Family(
                            "t_interval",
                            "interval",
                            List.of(
                                    "'1 year 2 months 3 days 04:05:06.789'",
                                    "'-1 day'",
                                    "'00:00:00.000001'")),
                    new Family(
                            "t_uuid",
                            "uuid",
                            List.of(
                                    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
                                    "'00000000-0000-0000-0000-000000000000'")),
                    new Family(
                            "t_json",
                            "json",
                            List.of(
                                    "'{\"a\": [1, 2, {\"b\": null}], \"u\": \"\\u00fc\"}'",
                                    "'[]'")),
                    new Family(
                            "t_jsonb",
                            "jsonb",
                            List.of("'{\"a\": [1, 2, {\"b\": null}], \"u\": \"ü\"}'", "'\"str\"'")),
                    new Family("t_int4_array", "integer[]", List.of("'{1,NULL,3}'", "'{}'")),
                    new Family("t_enum", "mood", List.of("'happy'", "'sad'", "NULL")),
                    new Family("t_domain", "posint", List.of("1", "2147483647")),
                    new Family("t_time24", "time", List.of("'24:00:00'", "'00:00:00.000001'")),
                    new Family(
                            "t_ts_edges",
                            "timestamp(6)",
                            List.of(
                                    "'infinity'",
                                    "'-infinity'",
                                    "'10000-01-01 00:00:00.5'",
                                    "'294246-12-31 23:59:59.999999'",
                                    "'4713-01-01 00:00:00 BC'")),
                    new Family(
                            "t_tstz_edges",
                            "timestamptz",
                            List.of(
                                    "'infinity'",
                                    "'-infinity'",
                                    "'12000-06-01 12:00:00.25+00'",
                                    "'0044-03-15 12:00:00+00 BC'")),
                    new Family(
                            "t_date_edges",
                            "date",
                            List.of("'infinity'", "'-infinity'", "'20000-02-29'")),
                    new Family("t_bit", "bit(5)", List.of("B'10101'", "B'00000'", "B'11111'")),
                    new Family("t_bit1", "bit(1)", List.of("B'1'", "B'0'")),
                    new Family(
                            "t_varbit",
                            "varbit(8)",
                            List.of("B'101'", "B''", "B'00000000'", "B'1'", "NULL")),
                    new Family("t_varbit_free", "bit varying", List.of("B'0101010101010101011'")),
                    new Family(
                            "t_numeric_array",
                            "numeric[]",
                            List.of("'{1.50,NULL,-0.000001,123456789012345678901234567890}'")),
                    new Family("t_bool_array", "boolean[]", List.of("'{t,f,NULL}'")),
                    new Family("t_float8_array", "float8[]", List.of("'{1.5,-2.25e-10,NULL}'")),
                    new Family("t_date_array", "date[]", List.of("'{2026-11-26,NULL}'")),
                    new Family(
                            "t_timestamp_array",
                            "timestamp[]",
                            List.of("ARRAY['2026-11-26 10:00:00.123456'::timestamp, NULL]")),
                    new Family(
                            "t_uuid_array",
                            "uuid[]",
                            List.of("'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'")),
                    new Family(
                            "t_varchar_array",
                            "varchar(10)[]",
                            List.of("ARRAY['x'::varchar, 'ünï', NULL]")),
                    new Family("t_enum_array", "mood[]", List.of("'{happy,NULL,sad}'", "'{}'")),
                    new Family(
                            "t_bytea_array",
                            "bytea[]",
                            List.of("ARRAY['\\x00ff'::bytea, NULL, ''::bytea]")),
                    new Family(
                            "t_interval_array",
                            "interval[]",
                            List.of(
                                    "ARRAY['1 year 2 mons 3 days 04:05:06.000007'::interval,"
                                            + " NULL]")),
                    new Family("t_varbit_array", "varbit[]", List.of("ARRAY[B'101', B'1', NULL]")),
                    new Family(
                            "t_timetz",
                            "timetz",
                            List.of(
                                    "'12:00:00.5+05:30'",
                                    "'00:00:00-14'",
                                    "'23:59:59.999999+15:59'",
                                    "'24:00:00+00'",
                                    "'10:20:30+05:30:15'",
                                    "'06:30:00+00'",
                                    "NULL")),
                    new Family(
                            "t_timetz_array",
                            "timetz[]",
                            List.of("ARRAY['12:00:00.5+05:30'::timetz, NULL, '00:00-14'::timetz]")),
                    new Family(
                            "t_domain_array",
                            "posint[]",
                            List.of("ARRAY[1, NULL, 2147483647]::posint[]")),
                    new Family(
                            "t_text_array",
                            "text[]",
                            List.of("ARRAY['a,b', NULL, 'q\"uote', 'back\\slash', '']")));

    /**
     * Values Doltgres 1.3 cannot hold exactly (-0 becomes 0; its array parser drops empty strings
     * and mangles backslashes, which every bytea[] element holds; date ±infinity is out of its
     * range): the pipeline refuses them there (see {@code DoltgresDialect.refuse}), so they are
     * left out of the Doltgres run.
     */
    private static List<Family> families(String kind) {
        if (!"doltgres".equals(kind)) {
            return FAMILIES;
        }
        List<Family> out = new ArrayList<>();
        for (Family fam : FAMILIES) {
            List<String> values = new ArrayList<>();
            for (String v : fam.values()) {
                if (v.equals("'-0'")
                        || (fam.type().equals("date") && v.contains("infinity"))
                        || fam.type().equals("bytea[]")) {
                    continue;
                }
                values.add(
                        fam.table().equals("t_text_array")
                                ? "ARRAY['a,b', NULL, 'q\"uote', 'x y']"
                                : v);
            }
            if (!values.isEmpty()) {
                out.add(new Family(fam.table(), fam.type(), values));
            }
        }
        return out;
    }

    /**
     * Through the change stream, and through the initial snapshot (the values written before the
     * job starts, loaded with COPY).
     */
    @ParameterizedTest
    @CsvSource({"doltgres, stream", "postgres, stream", "doltgres, snapshot", "postgres, snapshot"})
    void valuesRoundTripExactly(String kind, String path) throws Exception {
        boolean snapshot = "snapshot".equals(path);
        List<Family> families = families(kind);
        List<String> ddl = new ArrayList<>();
        ddl.add("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
        ddl.add("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)");
        List<String> tables = new ArrayList<>();
        for (Family fam : families) {
            ddl.add("CREATE TABLE " + fam.table() + " (id int PRIMARY KEY, v " + fam.type() + ")");
            tables.add(fam.table());
        }
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "types", tables, ddl.toArray(new String[0]))) {
            if (snapshot) {
                f.withStartupYaml("mode: initial");
            } else {
                f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            }
            long last;
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                for (Family fam : families) {
                    int id = 0;
                    for (String v : fam.values()) {
                        st.execute(
                                "INSERT INTO "
                                        + fam.table()
                                        + " VALUES ("
                                        + (++id)
                                        + ", "
                                        + v
                                        + ")");
                    }
                    c.commit();
                    // Update: the first row takes the last value; delete the second row.
                    st.execute(
                            "UPDATE "
                                    + fam.table()
                                    + " SET v = (SELECT v FROM "
                                    + fam.table()
                                    + " WHERE id = "
                                    + id
                                    + ") WHERE id = 1");
                    if (id > 2) {
                        st.execute("DELETE FROM " + fam.table() + " WHERE id = 2");
                    }
                    c.commit();
                }
                if (snapshot) {
                    f.start(StreamExecutionEnvironment.getExecutionEnvironment());
                }
                last = ReplicationFixture.currentXid(c);
                st.execute("UPDATE t_bool SET v = NOT v WHERE id = 1");
                c.commit();
            }
            f.awaitApplied(last, Duration.ofMinutes(2));
            org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
            for (Family fam : families) {
                String sql = "SELECT id, v::text FROM " + fam.table() + " ORDER BY id";
                boolean printedDifferently =
                        fam.type().equals("real")
                                || fam.type().equals("double precision")
                                || fam.type().equals("float8[]")
                                || fam.type().equals("boolean[]");
                if (printedDifferently && "doltgres".equals(kind)) {
                    // Doltgres prints floats without exponent and boolean array elements as
                    // true/false: its output functions differ from PostgreSQL's, so these are
                    // compared as values (below), bit for bit.
                    continue;
                }
                soft.assertThat(f.replica.rows(sql))
                        .as("%s (%s) as text", fam.table(), fam.type())
                        .isEqualTo(f.primary.rows(sql));
            }
            for (Family fam : families) {
                soft.assertThat(jdbcValues(f.replica, fam.table()))
                        .as("%s (%s) as JDBC values", fam.table(), fam.type())
                        .isEqualTo(jdbcValues(f.primary, fam.table()));
            }
            soft.assertAll();
        }
    }

    /** Each value through the driver's own mapping, rendered for comparison. */
    private static List<String> jdbcValues(Db db, String table) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connect();
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id, v FROM " + table + " ORDER BY id")) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                Object v = rs.getObject(2);
                String text;
                if (v instanceof byte[]) {
                    text = java.util.HexFormat.of().formatHex((byte[]) v);
                } else if (v instanceof java.sql.Array) {
                    text =
                            java.util.Arrays.deepToString(
                                    (Object[]) ((java.sql.Array) v).getArray());
                } else {
                    text = String.valueOf(v);
                }
                out.add(rs.getInt(1) + "=" + text + " (" + md.getColumnTypeName(2) + ")");
            }
        }
        return out;
    }
}
