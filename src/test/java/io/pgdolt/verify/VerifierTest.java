package io.pgdolt.verify;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.txn.TableId;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bucket comparison, drill-down and rechecks over in-memory tables. */
class VerifierTest {
    private final ExecutorService pool = Executors.newSingleThreadExecutor();
    private final ProgressMeter meter =
            new ProgressMeter(new PrintStream(new ByteArrayOutputStream()), Duration.ofHours(1));

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private static final TableSpec ACCOUNTS =
            new TableSpec(
                    new TableId("public", "accounts"),
                    List.of("id", "owner", "balance", "rate"),
                    List.of("int4", "text", "numeric", "float8"),
                    List.of("id"),
                    null,
                    -1);

    private static final TableSpec LOG =
            new TableSpec(
                    new TableId("public", "log"),
                    List.of("at", "msg"),
                    List.of("text", "text"),
                    List.of(),
                    null,
                    -1);

    /** A table in memory; its rows may be changed between scans. */
    static final class Fake implements RowSource {
        final List<String[]> rows = new ArrayList<>();
        final AtomicInteger scans = new AtomicInteger();
        Runnable afterScan = () -> {};

        @Override
        public void scan(TableSpec table, Consumer<String[]> sink) {
            scans.incrementAndGet();
            for (String[] r : List.copyOf(rows)) {
                sink.accept(table.normalize(r));
            }
            afterScan.run();
        }

        @Override
        public List<String[]> lookup(TableSpec table, List<String> key) {
            List<String[]> out = new ArrayList<>();
            for (String[] r : rows) {
                String[] n = table.normalize(r);
                if (Key.of(n, table.keyIndexes()).values().equals(key)) {
                    out.add(n);
                }
            }
            return out;
        }

        String[] row(String id) {
            return rows.stream().filter(r -> r[0].equals(id)).findFirst().orElseThrow();
        }
    }

    private static Fake accounts(int n) {
        Fake f = new Fake();
        for (int i = 1; i <= n; i++) {
            f.rows.add(
                    new String[] {
                        String.valueOf(i),
                        "owner " + i + " 'q'",
                        i + ".50",
                        i % 5 == 0 ? null : "1e-10"
                    });
        }
        return f;
    }

    private List<TableResult> verify(
            TableSpec spec, Fake primary, Fake replica, VerifyOptions options, CatchUp catchUp)
            throws Exception {
        return Verifier.run(List.of(spec), primary, replica, catchUp, options, pool, meter);
    }

    private static VerifyOptions options(int recheck, int maxKeys, long drillRows) {
        return new VerifyOptions(List.of(), recheck, Duration.ZERO, maxKeys, drillRows);
    }

    @Test
    void equalTablesAreReportedEqualAfterOnePass() throws Exception {
        Fake p = accounts(3000);
        Fake r = accounts(3000);
        // Doltgres prints the same double without an exponent.
        r.rows.forEach(row -> row[3] = row[3] == null ? null : "0.0000000001");
        TableResult result = verify(ACCOUNTS, p, r, VerifyOptions.defaults(), CatchUp.NONE).get(0);
        assertThat(result.status()).isEqualTo(TableResult.Status.EQUAL);
        assertThat(result.primaryRows()).isEqualTo(3000);
        assertThat(result.resolvedOnRecheck()).isFalse();
        assertThat(p.scans).hasValue(1);
        assertThat(r.scans).hasValue(1);
    }

    @Test
    void namesAChangedAMissingAndAnExtraKey() throws Exception {
        Fake p = accounts(3000);
        Fake r = accounts(3000);
        r.row("42")[2] = "99.00";
        r.rows.removeIf(row -> row[0].equals("7"));
        r.rows.add(new String[] {"9001", "intruder", "0", null});
        AtomicInteger waits = new AtomicInteger();
        TableResult result =
                verify(ACCOUNTS, p, r, options(3, 50, 100_000), max -> waits.incrementAndGet())
                        .get(0);
        assertThat(result.status()).isEqualTo(TableResult.Status.DIFFERENT);
        assertThat(result.primaryRows()).isEqualTo(3000);
        assertThat(result.replicaRows()).isEqualTo(3000);
        assertThat(result.listed())
                .containsExactly(
                        new Difference.Missing(List.of("7"), 1),
                        new Difference.Changed(
                                List.of("42"),
                                List.of(new Difference.ColumnChange("balance", "42.50", "99.00"))),
                        new Difference.Extra(List.of("9001"), 1));
        assertThat(result.unlisted()).isZero();
        assertThat(result.unexaminedBuckets()).isZero();
        // The first pass, then three rechecks, each after a wait for the replica.
        assertThat(waits).hasValue(3);
        assertThat(p.scans).hasValue(4);
        assertThat(Report.describe(ACCOUNTS, result.listed().get(1)))
                .isEqualTo("changed: id=42: balance: primary 42.50, replica 99.00");
        assertThat(Report.describe(ACCOUNTS, result.listed().get(0)))
                .isEqualTo("missing on the replica: id=7");
    }

    @Test
    void aDifferenceTheReplicaCatchesUpWithIsNotReported() throws Exception {
        Fake p = accounts(500);
        Fake r = accounts(500);
        r.rows.removeIf(row -> row[0].equals("100"));
        // The replica applies the in-flight insert while verify waits for it.
        CatchUp applies = max -> r.rows.add(p.row("100").clone());
        TableResult result = verify(ACCOUNTS, p, r, options(3, 50, 100_000), applies).get(0);
        assertThat(result.status()).isEqualTo(TableResult.Status.EQUAL);
        assertThat(result.resolvedOnRecheck()).isTrue();
        assertThat(p.scans).hasValue(2);
    }

    @Test
    void keysThatBecomeEqualWhenReadBackAreDropped() throws Exception {
        Fake p = accounts(500);
        Fake r = accounts(500);
        r.row("5")[1] = "stale";
        r.row("6")[1] = "stale";
        // Row 5 is brought up to date after the last recheck, before it is read back by key.
        r.afterScan = () -> r.row("5")[1] = p.row("5")[1];
        TableResult result = verify(ACCOUNTS, p, r, options(0, 50, 100_000), CatchUp.NONE).get(0);
        assertThat(result.status()).isEqualTo(TableResult.Status.DIFFERENT);
        assertThat(result.listed()).extracting(Difference::identity).containsExactly(List.of("6"));
    }

    @Test
    void tablesWithoutKeyCompareAsMultisets() throws Exception {
        Fake p = new Fake();
        Fake r = new Fake();
        for (int i = 0; i < 1000; i++) {
            String[] row = {"2026-01-01 00:00:0" + (i % 10) + "+00", "event " + (i % 100)};
            p.rows.add(row);
            r.rows.add(row.clone());
        }
        // 10 identical copies of each row on both; the replica gains one and loses another.
        r.rows.add(p.rows.get(0).clone());
        r.rows.remove(1);
        TableResult result = verify(LOG, p, r, options(1, 50, 100_000), CatchUp.NONE).get(0);
        assertThat(result.status()).isEqualTo(TableResult.Status.DIFFERENT);
        assertThat(result.listed())
                .containsExactlyInAnyOrder(
                        new Difference.Extra(Arrays.asList(p.rows.get(0)), 1),
                        new Difference.Missing(Arrays.asList(p.rows.get(1)), 1));
        assertThat(Report.describe(LOG, result.listed().get(0)))
                .startsWith("extra on the replica: (at, msg)=('2026-01-01 00:00:00+00',");
    }

    @Test
    void listsAtMostMaxKeysAndCountsTheRest() throws Exception {
        Fake p = accounts(2000);
        Fake r = accounts(2000);
        r.rows.removeIf(row -> Integer.parseInt(row[0]) % 10 == 0);
        TableResult result = verify(ACCOUNTS, p, r, options(0, 5, 100_000), CatchUp.NONE).get(0);
        assertThat(result.listed()).hasSize(5);
        assertThat(result.listed().get(0)).isEqualTo(new Difference.Missing(List.of("10"), 1));
        assertThat(result.differingKeys()).isEqualTo(200);
        assertThat(result.replicaRows()).isEqualTo(1800);
    }

    @Test
    void longPassesReportTheirProgress() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ProgressMeter every = new ProgressMeter(new PrintStream(err, true), Duration.ZERO);
        Verifier.run(
                List.of(ACCOUNTS),
                accounts(10_000),
                accounts(10_000),
                CatchUp.NONE,
                VerifyOptions.defaults(),
                pool,
                every);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("pgdolt verify: public.accounts (full pass): ")
                .contains("rows read on the primary")
                .contains("rows/s");
    }

    @Test
    void bucketsBeyondTheMemoryLimitAreReportedByTheirCounts() throws Exception {
        Fake p = accounts(2000);
        Fake r = accounts(2000);
        r.rows.removeIf(row -> Integer.parseInt(row[0]) <= 100);
        // Room for about 10 rows of held keys per server: the other differing buckets are counted.
        TableResult result = verify(ACCOUNTS, p, r, options(0, 50, 10), CatchUp.NONE).get(0);
        assertThat(result.status()).isEqualTo(TableResult.Status.DIFFERENT);
        assertThat(result.differingKeys()).isBetween(1L, 10L);
        assertThat(result.unexaminedBuckets()).isGreaterThan(80);
        // Those buckets hold the other missing rows, and some rows both servers hold.
        assertThat(result.unexaminedPrimaryRows() - result.unexaminedReplicaRows())
                .isEqualTo(100 - result.differingKeys());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Report.write(
                new PrintStream(out, true, StandardCharsets.UTF_8), List.of(), List.of(result));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("not examined key by key: over the limit of rows held in memory")
                .contains("result: DIFFERENT: 1 of 1 table differ");
    }
}
