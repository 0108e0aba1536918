package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.config.ConfigException;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The schema rules of Doltgres's replication docs and what they lack: compatible but different
 * types, extra nullable replica columns, publication column lists and row filters, and start-up
 * errors that name table, column and both types.
 */
@ExtendWith(TestServers.class)
class SchemaRulesITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void compatibleTypesExtraColumnsColumnListsAndRowFilters(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        kind,
                        "rules",
                        List.of("wide", "sub (id, a)", "flt WHERE (id > 10)"),
                        "CREATE TABLE wide (id int PRIMARY KEY, n int, s varchar(10))",
                        "CREATE TABLE sub (id int PRIMARY KEY, a text, secret text)",
                        "CREATE TABLE flt (id int PRIMARY KEY, v text)")) {
            // The replica differs: wider types, an extra nullable column, fewer columns.
            f.replica.exec(
                    "DROP TABLE wide",
                    "CREATE TABLE wide (id int PRIMARY KEY, n bigint, s text, note text)",
                    "DROP TABLE sub",
                    "CREATE TABLE sub (id int PRIMARY KEY, a text)");
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            long last;
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("INSERT INTO wide VALUES (1, 2147483647, 'ten chars!'), (2, -5, NULL)");
                st.execute("INSERT INTO sub VALUES (1, 'public', 'not published')");
                st.execute(
                        "INSERT INTO flt VALUES (5, 'filtered out'), (15, 'kept'), (20, 'kept')");
                c.commit();
                st.execute("UPDATE wide SET n = n - 1 WHERE id = 1");
                st.execute("UPDATE sub SET a = 'still public', secret = 'x' WHERE id = 1");
                // Leaves the filter (a DELETE on the replica), and enters it (an INSERT).
                st.execute("UPDATE flt SET id = 6 WHERE id = 20");
                st.execute("UPDATE flt SET id = 16 WHERE id = 5");
                last = ReplicationFixture.currentXid(c);
                c.commit();
            }
            f.awaitApplied(last, Duration.ofMinutes(2));
            // int4 into bigint, varchar into text; the replica-only column stays NULL.
            assertThat(f.replica.rows("SELECT id, n::text, s, note FROM wide ORDER BY id"))
                    .containsExactly(
                            java.util.Arrays.asList("1", "2147483646", "ten chars!", null),
                            java.util.Arrays.asList("2", "-5", null, null));
            assertThat(f.replica.rows("SELECT id, a FROM sub"))
                    .isEqualTo(f.primary.rows("SELECT id, a FROM sub"));
            assertThat(f.replica.rows("SELECT id, v FROM flt ORDER BY id"))
                    .isEqualTo(f.primary.rows("SELECT id, v FROM flt WHERE id > 10 ORDER BY id"))
                    .hasSize(2);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void incompatibleReplicaIsReportedAtStartUp(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        kind,
                        "badschema",
                        List.of("a"),
                        "CREATE TABLE a (id int PRIMARY KEY, amount numeric(10,2), label text)")) {
            f.replica.exec(
                    "DROP TABLE a",
                    "CREATE TABLE a (id int PRIMARY KEY, amount int, must text NOT NULL)");
            assertThatThrownBy(f::build)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(
                            "column amount of public.a is numeric(10,2) on the primary but int4 on"
                                    + " the replica")
                    .hasMessageContaining(
                            "replica table public.a has no column \"label\" (text on the primary)")
                    .hasMessageContaining(
                            "replica column must of public.a is NOT NULL without a default");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void createTablesBuildsMissingTablesFromThePrimaryCatalog(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.createOnPrimaryOnly(
                        kind,
                        "create",
                        List.of("\"Sales\".orders", "plain", "net"),
                        "CREATE SCHEMA \"Sales\"",
                        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s fine')",
                        "CREATE TABLE \"Sales\".orders (id bigint, line int,"
                                + " note varchar(20) NOT NULL, amount numeric(12,2), m mood,"
                                + " tags text[], PRIMARY KEY (id, line))",
                        "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
                        "CREATE TABLE plain (k uuid PRIMARY KEY, v jsonb, p posint)",
                        "CREATE TABLE net (id int PRIMARY KEY, ip inet, mac macaddr,"
                                + " r int4range, doc tsvector)")) {
            if ("doltgres".equals(kind)) {
                // Types Doltgres lacks are refused, naming table, column and type, and nothing
                // is created.
                f.withReplicaYaml("create_tables: true");
                assertThatThrownBy(f::build)
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining(
                                "column ip of public.net has type inet, which the replica lacks:"
                                        + " map it to text (replica.type_mapping: {inet: text})")
                        .hasMessageContaining("column doc of public.net has type tsvector");
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM information_schema.tables WHERE"
                                                + " table_name IN ('orders', 'plain', 'net')"))
                        .isEqualTo("0");
            }
            f.withReplicaYaml(
                    "create_tables: true",
                    "type_mapping: {inet: text, macaddr: text, int4range: text, tsvector: text}");
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            long last;
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute(
                        "INSERT INTO \"Sales\".orders VALUES (1, 1, 'first', 12.5, 'ok',"
                                + " '{a,NULL}'), (1, 2, 'second', NULL, NULL, NULL)");
                st.execute(
                        "INSERT INTO plain VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
                                + " '{\"k\": [1, \"\\u00e9\"]}', 5)");
                st.execute(
                        "INSERT INTO net VALUES (1, '192.168.0.1/24', '08:00:2b:01:02:03',"
                                + " '[1,10)', to_tsvector('english', 'The quick brown foxes')),"
                                + " (2, '::1', NULL, 'empty', '')");
                c.commit();
                st.execute("UPDATE \"Sales\".orders SET m = 'it''s fine' WHERE line = 2");
                st.execute("UPDATE net SET ip = '10.0.0.0/8' WHERE id = 2");
                st.execute("DELETE FROM net WHERE id = 1");
                last = ReplicationFixture.currentXid(c);
                c.commit();
            }
            f.awaitApplied(last, Duration.ofMinutes(2));
            f.assertTablesEqual();
            assertThat(f.replica.rows("SELECT ip, r, doc FROM net"))
                    .containsExactly(java.util.Arrays.asList("10.0.0.0/8", "empty", ""));
            // Created with the primary's key and NOT NULL: the replica enforces them too.
            assertThatThrownBy(
                            () ->
                                    f.replica.exec(
                                            "INSERT INTO \"Sales\".orders (id, line, note)"
                                                    + " VALUES (1, 1, 'duplicate key')"))
                    .isInstanceOf(java.sql.SQLException.class);
            assertThatThrownBy(
                            () ->
                                    f.replica.exec(
                                            "INSERT INTO \"Sales\".orders (id, line)"
                                                    + " VALUES (9, 9)"))
                    .isInstanceOf(java.sql.SQLException.class);
            assertThat(
                            f.replica.rows(
                                    "SELECT column_name, udt_name FROM information_schema.columns"
                                        + " WHERE table_name = 'net' ORDER BY ordinal_position"))
                    .extracting(r -> r.get(1))
                    .containsExactly("int4", "text", "text", "text", "text");
        }
    }
}
