package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The changes Doltgres's own replicator gets wrong: primary-key changes, composite keys, tables
 * without a key under REPLICA IDENTITY FULL (with identical duplicate rows), replica identity
 * indexes, unchanged TOASTed values, TRUNCATE inside a multi-statement transaction, and hostile
 * identifiers. The replica ends equal to the primary with one Dolt commit per transaction.
 */
@ExtendWith(TestServers.class)
class ChangeSemanticsITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    private static final String HOSTILE = "\"Weird Schema\".\"Tab\"\"le ü\"";

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void replicaFollowsEveryKindOfChange(String kind) throws Exception {
        List<String> tables =
                List.of("single", "composite", "nokey", "byindex", "doc", "trunc", HOSTILE);
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        kind,
                        "semantics",
                        tables,
                        "CREATE TABLE single (id int PRIMARY KEY, v text)",
                        "CREATE TABLE composite (a int, b text, v text, PRIMARY KEY (a, b))",
                        "CREATE TABLE nokey (a int, b text)",
                        "CREATE TABLE byindex (u int NOT NULL, v text, w int)",
                        "CREATE UNIQUE INDEX byindex_u ON byindex (u)",
                        "CREATE TABLE doc (id int PRIMARY KEY, big text, small int)",
                        "CREATE TABLE trunc (id int PRIMARY KEY, v text)",
                        "CREATE SCHEMA \"Weird Schema\"",
                        "CREATE TABLE "
                                + HOSTILE
                                + " (\"select\" int PRIMARY KEY, \"Mixed Case\" text,"
                                + " \"a b\" text, \"ünï\" text, \"quo\"\"te\" text)")) {
            f.primary.exec(
                    "ALTER TABLE nokey REPLICA IDENTITY FULL",
                    "ALTER TABLE byindex REPLICA IDENTITY USING INDEX byindex_u");
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());

            String big = randomText(200_000);
            List<Long> xids = new ArrayList<>();
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                String[][] transactions = {
                    {
                        "INSERT INTO single VALUES (1, 'one'), (2, 'two')",
                        "INSERT INTO composite VALUES (1, 'x', 'a'), (1, 'y', 'b'), (2, 'x', 'c')",
                        "INSERT INTO nokey VALUES (1, 'dup'), (1, 'dup'), (1, 'dup'), (2, NULL)",
                        "INSERT INTO byindex VALUES (10, 'ten', 1), (20, 'twenty', 2)",
                        "INSERT INTO doc VALUES (1, '" + big + "', 1)",
                        "INSERT INTO trunc VALUES (1, 'gone'), (2, 'gone')",
                        "INSERT INTO " + HOSTILE + " VALUES (1, 'Mixed', 'a b', 'ü', 'q\"''q')"
                    },
                    // A primary key change, and a composite key change.
                    {
                        "UPDATE single SET id = 100 WHERE id = 1",
                        "UPDATE composite SET b = 'z' WHERE a = 1 AND b = 'y'",
                        "UPDATE composite SET v = 'changed' WHERE a = 2"
                    },
                    // One of three identical rows changes; another goes; a NULL row changes.
                    {
                        "UPDATE nokey SET b = 'one of three' WHERE ctid ="
                                + " (SELECT ctid FROM nokey WHERE b = 'dup' LIMIT 1)",
                        "DELETE FROM nokey WHERE ctid ="
                                + " (SELECT ctid FROM nokey WHERE b = 'dup' LIMIT 1)",
                        "UPDATE nokey SET a = 3 WHERE b IS NULL"
                    },
                    // Identity index: a key move and a plain update.
                    {
                        "UPDATE byindex SET u = 11, v = 'eleven' WHERE u = 10",
                        "UPDATE byindex SET w = 42 WHERE u = 20",
                        "DELETE FROM byindex WHERE u = 11"
                    },
                    // The TOASTed column is not sent; the replica keeps its value.
                    {"UPDATE doc SET small = 2 WHERE id = 1"},
                    {
                        "INSERT INTO trunc VALUES (3, 'before')",
                        "TRUNCATE trunc",
                        "INSERT INTO trunc VALUES (4, 'after')"
                    },
                    {
                        "UPDATE " + HOSTILE + " SET \"Mixed Case\" = 'MiXeD', \"a b\" = NULL",
                        "INSERT INTO " + HOSTILE + " VALUES (2, 'it''s', '\\\\', '🚀', '')"
                    },
                    {
                        "DELETE FROM single WHERE id = 2",
                        "DELETE FROM " + HOSTILE + " WHERE \"select\" = 1"
                    }
                };
                for (String[] txn : transactions) {
                    try (Statement st = c.createStatement()) {
                        for (String sql : txn) {
                            st.execute(sql);
                        }
                    }
                    xids.add(ReplicationFixture.currentXid(c));
                    c.commit();
                }
            }
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(2));
            f.assertTablesEqual();
            assertThat(f.replica.value("SELECT length(big) FROM doc WHERE id = 1"))
                    .isEqualTo(String.valueOf(big.length()));
            assertThat(f.replica.rows("SELECT a, b FROM nokey WHERE b = 'dup'")).hasSize(1);
            if ("doltgres".equals(kind)) {
                assertThat(f.doltCommits())
                        .extracting(DoltCommit::xid)
                        .containsExactlyElementsOf(xids);
            }
        }
    }

    /** Text that does not compress, so PostgreSQL stores it out of line (TOAST). */
    private static String randomText(int length) {
        Random r = new Random(5);
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append((char) ('a' + r.nextInt(26)));
        }
        return sb.toString();
    }
}
