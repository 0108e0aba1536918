package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.config.ConfigException;
import io.pgdolt.job.PipelineBuilder;
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
                        List.of("a", "b"),
                        "CREATE TABLE a (id int PRIMARY KEY, amount numeric(10,2), label text)",
                        "CREATE TABLE b (id int PRIMARY KEY, t timetz)")) {
            f.replica.exec(
                    "DROP TABLE a",
                    "CREATE TABLE a (id int PRIMARY KEY, amount int, must text NOT NULL)");
            assertThatThrownBy(
                            () ->
                                    PipelineBuilder.build(
                                            StreamExecutionEnvironment.getExecutionEnvironment(),
                                            f.config()))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(
                            "column amount of public.a is numeric(10,2) on the primary but int4 on"
                                    + " the replica")
                    .hasMessageContaining(
                            "replica table public.a has no column \"label\" (text on the primary)")
                    .hasMessageContaining(
                            "replica column must of public.a is NOT NULL without a default")
                    .hasMessageContaining(
                            "column t of public.b (time with time zone) cannot be replicated");
        }
    }
}
