package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DDL on the primary while the job runs: ADD COLUMN is carried (with the values the primary gave
 * existing rows, inside the transaction that added it), and a change the job cannot carry stops it
 * with a clear error, the replica holding exactly the transactions before it.
 */
@ExtendWith(TestServers.class)
class SchemaChangeITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void addColumnIsCarried(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                                kind,
                                "addcol",
                                List.of("items"),
                                "CREATE TABLE items (id int PRIMARY KEY, name text)")
                        .withReplicaYaml("add_columns: true")) {
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            long first;
            long added;
            long last;
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
                first = ReplicationFixture.currentXid(c);
                c.commit();
                // One transaction: a row before the ALTER (it gets the default on the primary), the
                // ALTER with a fast default, then rows that set the new column themselves.
                st.execute("INSERT INTO items VALUES (3, 'three')");
                st.execute("ALTER TABLE items ADD COLUMN qty numeric(8,2) DEFAULT 5.5");
                st.execute("INSERT INTO items VALUES (4, 'four', 9)");
                st.execute("UPDATE items SET qty = 7 WHERE id = 1");
                added = ReplicationFixture.currentXid(c);
                c.commit();
                // A column without default: existing rows hold NULL.
                st.execute("ALTER TABLE items ADD COLUMN \"Note\" varchar(20)");
                st.execute("INSERT INTO items VALUES (5, 'five', NULL, 'it''s new')");
                st.execute("UPDATE items SET \"Note\" = 'x' WHERE id = 2");
                last = ReplicationFixture.currentXid(c);
                c.commit();
            }
            f.awaitApplied(last, Duration.ofMinutes(2));
            f.assertTablesEqual();
            assertThat(f.replica.rows("SELECT id, qty::text, \"Note\" FROM items ORDER BY id"))
                    .containsExactly(
                            java.util.Arrays.asList("1", "7.00", null),
                            java.util.Arrays.asList("2", "5.50", "x"),
                            java.util.Arrays.asList("3", "5.50", null),
                            java.util.Arrays.asList("4", "9.00", null),
                            java.util.Arrays.asList("5", null, "it's new"));
            if ("doltgres".equals(kind)) {
                // Still one Dolt commit per source transaction; the schema change is in the
                // commit of the transaction that made it.
                assertThat(f.doltCommits())
                        .extracting(ReplicationFixture.DoltCommit::xid)
                        .containsExactly(first, added, last);
                ReplicationFixture.DoltCommit addedCommit = f.doltCommits().get(1);
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM dolt_diff_items WHERE to_commit = '"
                                                + addedCommit.hash()
                                                + "'"))
                        .as("rows changed by the ADD COLUMN transaction")
                        .isEqualTo("4");
            }
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "doltgres|ALTER TABLE items DROP COLUMN name|column(s) name of public.items no"
                        + " longer arrive",
                "postgres|ALTER TABLE items ALTER COLUMN name TYPE varchar(5)|column name of"
                        + " public.items changed type on the primary",
                "doltgres|ALTER TABLE items ADD COLUMN extra int|set replica.add_columns: true",
                "postgres|ALTER TABLE items ADD COLUMN tag uuid DEFAULT gen_random_uuid()|with a"
                        + " volatile default"
            })
    void uncarriedChangeStopsBeforeItsTransaction(String kind, String ddl, String message)
            throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                                kind,
                                "ddlstop",
                                List.of("items"),
                                "CREATE TABLE items (id int PRIMARY KEY, name text)")
                        .withReplicaYaml("add_columns: " + !ddl.contains("ADD COLUMN extra"))) {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            Configuration noRestart = new Configuration();
            noRestart.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            env.configure(noRestart);
            f.start(env);
            long before;
            List<List<String>> expected;
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
                c.commit();
                st.execute("UPDATE items SET name = 'uno' WHERE id = 1");
                before = ReplicationFixture.currentXid(c);
                c.commit();
                expected = f.primary.rows("SELECT id, name FROM items ORDER BY id");
                st.execute(ddl);
                c.commit();
                // The first change after the DDL carries the new layout; later ones must not be
                // applied either.
                st.execute("INSERT INTO items (id) VALUES (3)");
                st.execute("DELETE FROM items WHERE id = 2");
                c.commit();
                st.execute("INSERT INTO items (id) VALUES (4)");
                c.commit();
            }
            Throwable failure = null;
            try {
                f.job().getJobExecutionResult().get(3, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                failure = e;
            }
            assertThat(failure).as("the job stops").isNotNull();
            assertThat(ExceptionUtils.stringifyException(failure)).contains(message);
            assertThat(
                            f.replica.value(
                                    "SELECT xid FROM public.pgdolt_progress WHERE pipeline_id = '"
                                            + f.name
                                            + "'"))
                    .as("the last applied transaction is the one before the DDL")
                    .isEqualTo(String.valueOf(before));
            assertThat(f.replica.rows("SELECT id, name FROM items ORDER BY id"))
                    .isEqualTo(expected);
            if ("doltgres".equals(kind)) {
                assertThat(f.doltCommits()).hasSize(2);
            }
        }
    }
}
