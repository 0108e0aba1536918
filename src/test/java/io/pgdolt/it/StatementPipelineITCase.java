package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.testing.Db;
import io.pgdolt.testing.TestServers;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.jdbc.StatementPipeline;

/**
 * The PostgreSQL replica's statement pipeline against a real server: statements of different shapes
 * in one round trip, in any order, each prepared once; and a failure that stops the rest.
 */
@ExtendWith(TestServers.class)
class StatementPipelineITCase {
    private static final String INSERT_A = "INSERT INTO a (id, v) VALUES (CAST(? AS int4), ?)";
    private static final String INSERT_B = "INSERT INTO b (id, v) VALUES (CAST(? AS int4), ?)";
    private static final String CHECKED_UPDATE_A =
            "WITH c AS (UPDATE a SET v = ? WHERE id = CAST(? AS int4) RETURNING 1) SELECT CASE WHEN"
                + " count(*) = 1 THEN 1 ELSE CAST('bad count: ' || count(*) AS int4) END FROM c";

    private static Db freshDatabase() throws Exception {
        String name =
                ("pipe_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36))
                        .toLowerCase(Locale.ROOT);
        Db server = TestServers.pgReplica();
        server.exec("CREATE DATABASE " + name);
        Db db = server.withDatabase(name);
        db.exec(
                "CREATE TABLE a (id int PRIMARY KEY, v text)",
                "CREATE TABLE b (id int PRIMARY KEY, v text)");
        return db;
    }

    /**
     * Statements prepared on the server for {@code c}, the driver's own BEGIN left out; fails if
     * one text was prepared twice.
     */
    private static int preparedOnServer(Connection c) throws SQLException {
        List<String> counts =
                Db.rows(
                                c,
                                "SELECT count(*), count(DISTINCT statement) FROM"
                                        + " pg_prepared_statements WHERE statement <> 'BEGIN'")
                        .get(0);
        assertThat(counts.get(1)).as("distinct statements").isEqualTo(counts.get(0));
        return Integer.parseInt(counts.get(0));
    }

    @Test
    void mixedShapesInAnyOrderArePreparedOncePerShapeAndApplyTheirValues() throws Exception {
        Db db = freshDatabase();
        Random random = new Random(42);
        try (Connection c = db.connect();
                StatementPipeline pipeline = new StatementPipeline(c, 64)) {
            c.setAutoCommit(false);
            int nextA = 0;
            int nextB = 0;
            for (int trip = 0; trip < 30; trip++) {
                // Three transactions whose statements come in a new order each round trip.
                List<String> sql = new ArrayList<>();
                List<List<String>> values = new ArrayList<>();
                List<Integer> expected = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    if (sql.size() > 0) {
                        sql.add("BEGIN");
                        values.add(List.of());
                        expected.add(0);
                    }
                    List<Integer> kinds = new ArrayList<>(List.of(0, 1));
                    if (nextA > 0) {
                        kinds.add(2);
                    }
                    Collections.shuffle(kinds, random);
                    for (int k : kinds) {
                        switch (k) {
                            case 0 -> {
                                sql.add(INSERT_A);
                                // Every fifth value is NULL, bound as SQL NULL.
                                values.add(
                                        Arrays.asList(
                                                String.valueOf(++nextA),
                                                nextA % 5 == 0 ? null : "a" + nextA));
                                expected.add(1);
                            }
                            case 1 -> {
                                sql.add(INSERT_B);
                                values.add(List.of(String.valueOf(++nextB), "b" + nextB));
                                expected.add(1);
                            }
                            default -> {
                                sql.add(CHECKED_UPDATE_A);
                                values.add(List.of("updated", "1"));
                                expected.add(-1);
                            }
                        }
                    }
                    sql.add("COMMIT");
                    values.add(List.of());
                    expected.add(0);
                }
                List<Integer> results = new ArrayList<>();
                pipeline.execute(sql, values, results);
                assertThat(results).as("round trip %d", trip).isEqualTo(expected);
            }
            // Four shapes besides BEGIN, in 30 mixes: four statements on the server.
            assertThat(preparedOnServer(c)).isEqualTo(4);
            c.commit();
            assertThat(Db.rows(c, "SELECT count(*), count(v) FROM a"))
                    .containsExactly(List.of("90", String.valueOf(90 - 90 / 5)));
            assertThat(Db.rows(c, "SELECT count(*), min(v), max(id) FROM b"))
                    .containsExactly(List.of("90", "b1", "90"));
            assertThat(db.value("SELECT v FROM a WHERE id = 1")).isEqualTo("updated");
            assertThat(db.value("SELECT v FROM a WHERE id = 2")).isEqualTo("a2");
        }
    }

    @Test
    void aFailureStopsEverythingAfterItAndIsTheServersOwnError() throws Exception {
        Db db = freshDatabase();
        try (Connection c = db.connect();
                StatementPipeline pipeline = new StatementPipeline(c, 64)) {
            c.setAutoCommit(false);
            List<String> sql =
                    List.of(
                            INSERT_A, "COMMIT", "BEGIN", INSERT_A, INSERT_A, "COMMIT", "BEGIN",
                            INSERT_B, "COMMIT");
            List<List<String>> values =
                    List.of(
                            List.of("1", "x"),
                            List.of(),
                            List.of(),
                            List.of("2", "y"),
                            List.of("1", "again"), // a duplicate key: fails
                            List.of(),
                            List.of(),
                            List.of("3", "z"),
                            List.of());
            List<Integer> results = new ArrayList<>();
            assertThatThrownBy(() -> pipeline.execute(sql, values, results))
                    .isInstanceOf(SQLException.class)
                    .satisfies(
                            e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("23505"));
            // The statements before the failing one completed; nothing after it ran.
            assertThat(results).containsExactly(1, 0, 0, 1);
            c.rollback();
            assertThat(db.rows("SELECT id, v FROM a ORDER BY id"))
                    .containsExactly(List.of("1", "x"));
            assertThat(db.value("SELECT count(*) FROM b")).isEqualTo("0");
            // The session goes on.
            pipeline.execute(
                    List.of(INSERT_B, "COMMIT"), List.of(List.of("4", "w"), List.of()), results);
            assertThat(db.rows("SELECT id, v FROM b")).containsExactly(List.of("4", "w"));
        }
    }

    @Test
    void beyondItsLimitTheLeastRecentlyUsedShapeIsDeallocated() throws Exception {
        Db db = freshDatabase();
        try (Connection c = db.connect();
                StatementPipeline pipeline = new StatementPipeline(c, 2)) {
            c.setAutoCommit(false);
            List<Integer> results = new ArrayList<>();
            for (int id = 1; id <= 10; id++) {
                String table = "t" + (id % 4);
                results.clear();
                pipeline.execute(
                        List.of("SELECT CAST(? AS int4) AS " + table, INSERT_A, "COMMIT"),
                        List.of(
                                List.of(String.valueOf(id)),
                                List.of(String.valueOf(id), table),
                                List.of()),
                        results);
                assertThat(results).containsExactly(-1, 1, 0);
                assertThat(preparedOnServer(c))
                        .as("after round trip %d", id)
                        .isLessThanOrEqualTo(2);
            }
            assertThat(db.value("SELECT count(*) FROM a")).isEqualTo("10");
        }
    }
}
