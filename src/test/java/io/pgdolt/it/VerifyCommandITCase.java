package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.job.Main;
import io.pgdolt.testing.Db;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestServers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code pgdolt verify} against real servers: identical data written to the primary and the replica
 * directly (keyed, composite text key, and keyless tables with values of several types) compares
 * equal; a changed value, a missing row and an extra row injected on the replica are each reported
 * with their key, and the exit status says so.
 */
@ExtendWith(TestServers.class)
class VerifyCommandITCase {
    private static final List<String> TABLES = List.of("items", "pairs", "log");

    private static final String[] DDL = {
        "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(12,2), weight real,"
                + " score double precision, seen timestamptz, flags boolean[], note text)",
        "CREATE TABLE pairs (region text, code text, qty bigint, label text,"
                + " PRIMARY KEY (region, code))",
        "CREATE TABLE log (at timestamptz, level text, msg text)",
        "ALTER TABLE log REPLICA IDENTITY FULL"
    };

    /** Mixed case, accents and quotes: PostgreSQL and Doltgres sort these differently. */
    private static final String[] REGIONS = {"north", "North", "nörd", "Ost", "süd", "a'b"};

    private static final int ITEMS = 3000;
    private static final int PAIRS = 2000;
    private static final int LOG = 1500;

    private record Run(int status, String out, String err) {}

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void findsInjectedDifferencesAndNamesTheirKeys(String kind, @TempDir Path dir)
            throws Exception {
        try (ReplicationFixture f = ReplicationFixture.create(kind, "verify", TABLES, DDL)) {
            load(f.primary);
            load(f.replica);
            // A progress row ahead of the primary: the waits before rechecks end at once.
            f.replica.exec(
                    "CREATE TABLE public.pgdolt_progress (pipeline_id varchar(100) PRIMARY KEY,"
                            + " commit_lsn varchar(20) NOT NULL, xid bigint NOT NULL,"
                            + " commit_time timestamptz NOT NULL,"
                            + " committer_id varchar(40) NOT NULL)",
                    "INSERT INTO public.pgdolt_progress VALUES ('"
                            + f.name
                            + "', 'FFFFFFFF/0', 1, now(), 'test')");
            Path config = config(f, dir);

            Run equal = verify("--config", config.toString());
            assertThat(equal.status()).as(equal.out() + equal.err()).isZero();
            assertThat(equal.out())
                    .contains("public.items: equal (3,000 rows)")
                    .contains("public.pairs: equal (2,000 rows)")
                    .contains("public.log (no key: rows compared whole): equal (1,500 rows)")
                    .contains("result: EQUAL: 3 tables, 6,500 rows")
                    .contains(
                            "replica progress: pipeline "
                                    + f.name
                                    + " has applied the primary's transactions up to commit LSN"
                                    + " FFFFFFFF/0");

            int missing = 17;
            String[] logRow = logRow(5);
            String printedAt = "2026-03-01 00:05:05.000005+00";
            f.replica.exec(
                    "UPDATE items SET price = 1234.56 WHERE id = 1234",
                    "UPDATE items SET score = 0.5, flags = '{f}' WHERE id = 78",
                    "INSERT INTO items (id, name) VALUES (999999, 'extra')",
                    "DELETE FROM pairs WHERE region = "
                            + literal(region(missing))
                            + " AND code = "
                            + literal(code(missing)),
                    "INSERT INTO log VALUES ("
                            + literal(logRow[0])
                            + ", "
                            + literal(logRow[1])
                            + ", "
                            + literal(logRow[2])
                            + ")");

            Run different = verify("--config", config.toString());
            assertThat(different.status()).as(different.out() + different.err()).isEqualTo(1);
            assertThat(different.out())
                    .contains(
                            "public.items: DIFFERENT: 3,000 rows on the primary, 3,001 on the"
                                    + " replica; 3 differing keys found")
                    .contains("  changed: id=1234: price: primary 1542.50, replica 1234.56")
                    .contains(
                            "  changed: id=78: score: primary "
                                    + Double.toString(78 * 1e-7)
                                    + ", replica 0.5; flags: primary '{t,f,NULL}', replica '{f}'")
                    .contains("  extra on the replica: id=999999")
                    .contains(
                            "public.pairs: DIFFERENT: 2,000 rows on the primary, 1,999 on the"
                                    + " replica; 1 differing key found")
                    .contains(
                            "  missing on the replica: (region, code)=("
                                    + literal(region(missing))
                                    + ", "
                                    + literal(code(missing))
                                    + ")")
                    .contains(
                            "public.log (no key: rows compared whole): DIFFERENT: 1,500 rows on"
                                    + " the primary, 1,501 on the replica")
                    .contains(
                            "  extra on the replica: (at, level, msg)=("
                                    + literal(printedAt)
                                    + ", "
                                    + literal(logRow[1])
                                    + ", "
                                    + literal(logRow[2])
                                    + ")")
                    .contains("result: DIFFERENT: 3 of 3 tables differ");

            Run one =
                    verify(
                            "--config",
                            config.toString(),
                            "--table",
                            "public.pairs",
                            "--recheck",
                            "0");
            assertThat(one.status()).isEqualTo(1);
            assertThat(one.out())
                    .contains("public.pairs: DIFFERENT")
                    .doesNotContain("public.items")
                    .contains("result: DIFFERENT: 1 of 1 table differ");

            Run unknown = verify("--config", config.toString(), "--table", "public.nope");
            assertThat(unknown.status()).isEqualTo(2);
            assertThat(unknown.err()).contains("--table public.nope: not a table this pipeline");
        }
    }

    private static Run verify(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status =
                Main.verify(
                        args,
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        Run run =
                new Run(
                        status,
                        out.toString(StandardCharsets.UTF_8),
                        err.toString(StandardCharsets.UTF_8));
        System.out.println("verify " + String.join(" ", args) + " -> " + status);
        System.out.println(run.out());
        System.out.println(run.err());
        return run;
    }

    /** The fixture's configuration, its passwords read from files. */
    private static Path config(ReplicationFixture f, Path dir) throws Exception {
        Path primaryPw = dir.resolve("primary.pw");
        Path replicaPw = dir.resolve("replica.pw");
        Files.writeString(primaryPw, f.primary.password());
        Files.writeString(replicaPw, f.replica.password());
        Path config = dir.resolve("pgdolt.yaml");
        Files.writeString(
                config,
                f.yaml()
                        .replace("${TEST_PRIMARY_PASSWORD}", "${file:" + primaryPw + "}")
                        .replace("${TEST_REPLICA_PASSWORD}", "${file:" + replicaPw + "}"));
        return config;
    }

    private static String region(int i) {
        return REGIONS[i % REGIONS.length];
    }

    private static String code(int i) {
        return "c'" + i;
    }

    private static final DateTimeFormatter TS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.UTC);

    private static String[] logRow(int i) {
        // Each row three times: the table holds duplicates.
        int k = i % (LOG / 3);
        return new String[] {
            TS.format(
                    Instant.parse("2026-03-01T00:00:00Z")
                            .plusSeconds(k * 61L)
                            .plusNanos(k * 1000L)),
            k % 4 == 0 ? "WARN" : "INFO",
            k % 9 == 0 ? null : "event " + k + " said \"hi\" it's ✓"
        };
    }

    /** The same rows on either server, with plain SQL. */
    private static void load(Db db) throws Exception {
        List<String> items = new ArrayList<>();
        for (int i = 1; i <= ITEMS; i++) {
            items.add(
                    "("
                            + i
                            + ", "
                            + (i % 13 == 0 ? "NULL" : literal("item " + i + " it's \"q\" ü"))
                            + ", "
                            + (i * 1.25)
                            + ", "
                            + (i % 11 == 0 ? "'NaN'" : String.valueOf(i / 7.0f))
                            + ", "
                            + (i % 17 == 0 ? "'-Infinity'" : String.valueOf(i * 1e-7))
                            + ", "
                            + literal(
                                    TS.format(
                                            Instant.parse("2026-01-01T10:00:00Z")
                                                    .plusSeconds(i * 3607L)
                                                    .plusNanos((i % 1000) * 1000L)))
                            + ", "
                            + (i % 5 == 0 ? "NULL" : i % 2 == 0 ? "'{t,f,NULL}'" : "'{}'")
                            + ", "
                            + (i % 3 == 0 ? "NULL" : literal("note " + (i % 50)))
                            + ")");
        }
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i < PAIRS; i++) {
            pairs.add(
                    "("
                            + literal(region(i))
                            + ", "
                            + literal(code(i))
                            + ", "
                            + (i * 1_000_000_007L)
                            + ", "
                            + (i % 7 == 0 ? "NULL" : literal("ü✓ " + i))
                            + ")");
        }
        List<String> log = new ArrayList<>();
        for (int i = 0; i < LOG; i++) {
            String[] r = logRow(i);
            log.add("(" + literal(r[0]) + ", " + literal(r[1]) + ", " + literal(r[2]) + ")");
        }
        try (Connection c = db.connect();
                Statement st = c.createStatement()) {
            insert(st, "items", items);
            insert(st, "pairs", pairs);
            insert(st, "log", log);
        }
    }

    private static void insert(Statement st, String table, List<String> rows) throws Exception {
        for (int i = 0; i < rows.size(); i += 500) {
            st.execute(
                    "INSERT INTO "
                            + table
                            + " VALUES "
                            + String.join(", ", rows.subList(i, Math.min(rows.size(), i + 500))));
        }
    }

    private static String literal(String v) {
        return v == null ? "NULL" : "'" + v.replace("'", "''") + "'";
    }
}
