package io.pgdolt.verify;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.config.Secret;
import io.pgdolt.testing.Db;
import io.pgdolt.testing.TestServers;
import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reading a table on a real replica server reads every row exactly once, whichever way it pages:
 * through a cursor, by key in the server's own (collation-dependent) order, or, without a key, by
 * OFFSET. Small pages, so that page boundaries fall inside runs of awkward keys and of duplicates.
 */
@ExtendWith(TestServers.class)
class JdbcRowSourceITCase {
    private static final String[] WORDS = {"a", "A", "ä", "b", "B", "a b", "a'b", "Z", "ß", "ü✓"};

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void everyRowIsReadOnceInEveryMode(String kind) throws Exception {
        String name =
                ("rows_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36))
                        .toLowerCase(Locale.ROOT);
        TestServers.replica(kind).exec("CREATE DATABASE " + name);
        Db db = TestServers.replica(kind).withDatabase(name);
        db.exec(
                "CREATE TABLE pairs (k1 text, k2 int, v double precision, PRIMARY KEY (k1, k2))",
                "CREATE TABLE dup (a text, b int)");
        List<String[]> pairs = new ArrayList<>();
        List<String[]> dup = new ArrayList<>();
        try (Connection c = db.connect();
                Statement st = c.createStatement()) {
            List<String> values = new ArrayList<>();
            for (int i = 0; i < 230; i++) {
                String k1 = WORDS[i % WORDS.length];
                int k2 = i / WORDS.length;
                pairs.add(new String[] {k1, String.valueOf(k2), String.valueOf(i * 1e-9)});
                values.add("('" + k1.replace("'", "''") + "', " + k2 + ", " + (i * 1e-9) + ")");
            }
            st.execute("INSERT INTO pairs VALUES " + String.join(", ", values));
            values.clear();
            for (int i = 0; i < 100; i++) {
                // Runs of up to 10 identical rows, NULLs in both columns.
                String a = i % 13 == 0 ? null : WORDS[i % 4];
                String b = i % 7 == 0 ? null : String.valueOf(i % 3);
                dup.add(new String[] {a, b});
                values.add(
                        "("
                                + (a == null ? "NULL" : "'" + a.replace("'", "''") + "'")
                                + ", "
                                + (b == null ? "NULL" : b)
                                + ")");
            }
            st.execute("INSERT INTO dup VALUES " + String.join(", ", values));
        }
        TableSpec pairSpec =
                new TableSpec(
                        new TableId("public", "pairs"),
                        List.of("k1", "k2", "v"),
                        List.of("text", "int4", "float8"),
                        List.of("k1", "k2"),
                        null,
                        -1);
        TableSpec dupSpec =
                new TableSpec(
                        new TableId("public", "dup"),
                        List.of("a", "b"),
                        List.of("text", "int4"),
                        List.of(),
                        null,
                        -1);
        Connector connector =
                new Connector("replica", db.url(), db.user(), new Secret(db.password()));
        for (boolean paged : new boolean[] {true, false}) {
            try (JdbcRowSource source = new JdbcRowSource(connector.open(), paged, false, 7)) {
                assertThat(read(source, pairSpec))
                        .as("pairs, paged=%s", paged)
                        .containsExactlyInAnyOrderElementsOf(normalized(pairSpec, pairs));
                assertThat(read(source, dupSpec))
                        .as("dup, paged=%s", paged)
                        .containsExactlyInAnyOrderElementsOf(normalized(dupSpec, dup));
                assertThat(source.lookup(pairSpec, List.of("a'b", "3")))
                        .extracting(Arrays::asList)
                        .containsExactly(
                                Arrays.asList(
                                        "a'b",
                                        "3",
                                        Normalizer.normalize("float8", 36 * 1e-9 + "")));
            }
        }
    }

    private static List<List<String>> read(JdbcRowSource source, TableSpec spec) throws Exception {
        List<List<String>> rows = new ArrayList<>();
        source.scan(spec, row -> rows.add(Arrays.asList(row)));
        return rows;
    }

    private static List<List<String>> normalized(TableSpec spec, List<String[]> rows) {
        List<List<String>> out = new ArrayList<>();
        for (String[] r : rows) {
            out.add(Arrays.asList(spec.normalize(r)));
        }
        return out;
    }
}
