package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.config.ConfigException;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.txn.Lsn;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two replication groups in one job, each with its own publication, slot and ordered apply stream,
 * into one replica database. Transactions touch one group or both, from two concurrent writers.
 *
 * <p>The documented semantics of a transaction spanning groups: each group applies its part as a
 * replica transaction of its own (on Doltgres, a Dolt commit of its own) carrying the source xid
 * and commit LSN; the parts are not atomic with each other. Within a group, every guarantee of a
 * single pipeline holds: one commit per transaction that touched the group, in commit-LSN order,
 * holding only the group's tables.
 */
@ExtendWith(TestServers.class)
class ReplicationGroupsITCase {
    private static final Duration APPLY_TIMEOUT = Duration.ofSeconds(120);
    private static final int TXNS_PER_WRITER = 40;
    private static final String DDL_ACCT = "CREATE TABLE acct (id int PRIMARY KEY, balance bigint)";
    private static final String DDL_LEDGER =
            "CREATE TABLE ledger (id bigint PRIMARY KEY, acct int NOT NULL, delta bigint, note"
                    + " text)";
    private static final String DDL_STOCK =
            "CREATE TABLE stock (sku int PRIMARY KEY, qty int NOT NULL, name text)";

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    /** One source transaction of the workload: its xid and which groups it touched. */
    private record Written(long xid, Set<String> groups) {}

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void twoGroupsApplyInParallelAndSplitCrossGroupTransactions(String kind) throws Exception {
        try (ReplicationFixture f = withAccountsAndStock(kind, "groups")) {
            twoGroups(f);
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());

            List<Written> written = Collections.synchronizedList(new ArrayList<>());
            ExecutorService writers = Executors.newFixedThreadPool(2);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int w = 0; w < 2; w++) {
                    int writer = w;
                    done.add(writers.submit(() -> write(f, writer, written)));
                }
                for (Future<?> d : done) {
                    d.get();
                }
            } finally {
                writers.shutdownNow();
            }
            // A last transaction in both groups: once both have applied it, all is applied.
            long last = markBothGroups(f, written);

            f.assertTablesEqual(List.of("acct", "ledger", "stock"));
            assertThat(f.verify()).as("pgdolt verify over both groups").isZero();
            assertThat(written.stream().filter(w -> w.groups().size() == 2).count())
                    .as("cross-group transactions in the workload")
                    .isGreaterThanOrEqualTo(10);
            // Each group records its own progress, at the last transaction's commit LSN.
            List<List<String>> progress =
                    f.replica.rows(
                            "SELECT pipeline_id, xid, commit_lsn FROM public.pgdolt_progress"
                                    + " ORDER BY pipeline_id");
            assertThat(progress).hasSize(2);
            assertThat(progress.get(0).get(0)).isEqualTo(f.name + ".ga");
            assertThat(progress.get(1).get(0)).isEqualTo(f.name + ".gb");
            assertThat(progress.get(0).get(1)).isEqualTo(String.valueOf(last));
            assertThat(progress.get(1).get(2))
                    .as("both parts of a cross-group transaction carry its commit LSN")
                    .isEqualTo(progress.get(0).get(2));
            if ("doltgres".equals(kind)) {
                assertDoltHistory(f, written);
            }
        }
    }

    /**
     * Per transaction, one Dolt commit per group it touched, each with the group's tables only; per
     * group, commits in commit-LSN order.
     */
    private static void assertDoltHistory(ReplicationFixture f, List<Written> written)
            throws Exception {
        Map<String, Set<String>> tablesOfGroup =
                Map.of(
                        "ga", Set.of("public.acct", "public.ledger"),
                        "gb", Set.of("public.stock"));
        Map<String, Set<String>> changed = new HashMap<>();
        for (List<String> row :
                f.replica.rows(
                        "SELECT commit_hash, table_name FROM dolt_diff WHERE data_change"
                                + " AND table_name <> 'public.pgdolt_progress'")) {
            changed.computeIfAbsent(row.get(0), h -> new TreeSet<>()).add(row.get(1));
        }
        Map<Long, Set<String>> groupsOfXid = new HashMap<>();
        Map<String, Lsn> lastLsn = new HashMap<>();
        for (ReplicationFixture.DoltCommit c : f.doltCommits()) {
            String pipeline =
                    c.message()
                            .lines()
                            .filter(l -> l.startsWith("pipeline: "))
                            .findFirst()
                            .orElseThrow()
                            .substring("pipeline: ".length());
            assertThat(pipeline).startsWith(f.name + ".");
            String group = pipeline.substring(f.name.length() + 1);
            assertThat(groupsOfXid.computeIfAbsent(c.xid(), x -> new TreeSet<>()).add(group))
                    .as("one commit of xid %d in group %s", c.xid(), group)
                    .isTrue();
            assertThat(changed.get(c.hash()))
                    .as("tables changed by commit %s (xid %d, group %s)", c.hash(), c.xid(), group)
                    .isNotEmpty()
                    .isSubsetOf(tablesOfGroup.get(group));
            Lsn lsn = Lsn.parse(c.lsn());
            Lsn before = lastLsn.put(group, lsn);
            if (before != null) {
                assertThat(lsn).as("group %s applies in commit order", group).isGreaterThan(before);
            }
        }
        Map<Long, Set<String>> expected = new HashMap<>();
        for (Written w : written) {
            expected.put(w.xid(), new TreeSet<>(w.groups()));
        }
        assertThat(groupsOfXid).isEqualTo(expected);
    }

    /**
     * acct, ledger and stock on both sides, 20 accounts and 20 SKUs, unpublished; on Doltgres the
     * replica's starting rows are a commit of their own, not part of the first replicated one.
     */
    private static ReplicationFixture withAccountsAndStock(String kind, String prefix)
            throws Exception {
        ReplicationFixture f =
                ReplicationFixture.create(
                        kind,
                        prefix,
                        List.of(),
                        DDL_ACCT,
                        DDL_LEDGER,
                        DDL_STOCK,
                        "INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 20) g",
                        "INSERT INTO stock SELECT g, 100, 'sku ' || g FROM generate_series(1,"
                                + " 20) g");
        if ("doltgres".equals(kind)) {
            f.replica.exec("SELECT dolt_commit('-A', '-m', 'test set-up')");
        }
        return f;
    }

    /**
     * Group ga (acct, ledger) and gb (stock), each with its publication and slot; {@code gbLines}
     * are added to gb's entry.
     */
    private static void twoGroups(ReplicationFixture f, String... gbLines) throws Exception {
        String ga = f.name + "_ga";
        String gb = f.name + "_gb";
        f.primary.exec(
                "CREATE PUBLICATION " + ga + " FOR TABLE acct, ledger",
                "CREATE PUBLICATION " + gb + " FOR TABLE stock",
                "SELECT pg_create_logical_replication_slot('" + ga + "', 'pgoutput')",
                "SELECT pg_create_logical_replication_slot('" + gb + "', 'pgoutput')");
        List<String> lines =
                new ArrayList<>(
                        List.of(
                                "  - name: ga",
                                "    slot_name: " + ga,
                                "  - name: gb",
                                "    slot_name: " + gb));
        lines.addAll(List.of(gbLines));
        f.withGroups(lines.toArray(new String[0]));
    }

    /** Commits a transaction in both groups and waits until both have applied it. */
    private static long markBothGroups(ReplicationFixture f, List<Written> written)
            throws Exception {
        long last;
        try (Connection c = f.primary.connect()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE acct SET balance = balance + 1 WHERE id = 1");
                s.executeUpdate("UPDATE stock SET qty = qty + 1 WHERE sku = 1");
            }
            last = ReplicationFixture.currentXid(c);
            c.commit();
        }
        written.add(new Written(last, Set.of("ga", "gb")));
        f.awaitApplied(f.name + ".ga", last, APPLY_TIMEOUT);
        f.awaitApplied(f.name + ".gb", last, APPLY_TIMEOUT);
        return last;
    }

    /** A writer's transactions: group ga only, gb only, or both (about a third each). */
    private static void write(ReplicationFixture f, int writer, List<Written> written) {
        Random random = new Random(writer * 31L + 7);
        try (Connection c = f.primary.connect()) {
            c.setAutoCommit(false);
            for (int i = 0; i < TXNS_PER_WRITER; i++) {
                int kind = random.nextInt(3);
                Set<String> groups = new TreeSet<>();
                try (Statement s = c.createStatement()) {
                    int acct = 1 + random.nextInt(20);
                    int sku = 1 + random.nextInt(20);
                    long id = writer * 1_000_000L + i;
                    if (kind != 1) {
                        int delta = random.nextInt(200) - 100;
                        s.executeUpdate(
                                "UPDATE acct SET balance = balance + "
                                        + delta
                                        + " WHERE id = "
                                        + acct);
                        s.executeUpdate(
                                "INSERT INTO ledger VALUES ("
                                        + id
                                        + ", "
                                        + acct
                                        + ", "
                                        + delta
                                        + ", 'writer "
                                        + writer
                                        + "')");
                        if (i % 5 == 4) {
                            s.executeUpdate("DELETE FROM ledger WHERE id = " + (id - 2));
                        }
                        groups.add("ga");
                    }
                    if (kind != 0) {
                        s.executeUpdate(
                                "UPDATE stock SET qty = qty - 1, name = 'sold by "
                                        + writer
                                        + "' WHERE sku = "
                                        + sku);
                        groups.add("gb");
                    }
                }
                long xid = ReplicationFixture.currentXid(c);
                c.commit();
                written.add(new Written(xid, groups));
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * An initial start with groups: each group creates its replica tables and loads its own
     * snapshot (on Doltgres, a snapshot commit per group holding only its tables), then streams.
     */
    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void eachGroupLoadsItsOwnInitialSnapshot(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.createWithYaml(kind, "groupsnap", List.of(), "")
                        .withReplicaYaml("create_tables: true")
                        .withStartupYaml("mode: initial")) {
            f.primary.exec(
                    DDL_ACCT,
                    DDL_LEDGER,
                    DDL_STOCK,
                    "INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 300) g",
                    "INSERT INTO ledger SELECT g, g % 300 + 1, g, 'opening' FROM"
                            + " generate_series(1, 500) g",
                    "INSERT INTO stock SELECT g, 100, 'sku ' || g FROM generate_series(1, 200) g");
            twoGroups(f);
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            List<Written> written = new ArrayList<>();
            long last = markBothGroups(f, written);

            f.assertTablesEqual(List.of("acct", "ledger", "stock"));
            assertThat(f.replica.value("SELECT count(*) FROM ledger")).isEqualTo("500");
            if ("doltgres".equals(kind)) {
                Map<String, Set<String>> changed = new HashMap<>();
                for (List<String> row :
                        f.replica.rows(
                                "SELECT commit_hash, table_name FROM dolt_diff WHERE data_change"
                                        + " AND table_name <> 'public.pgdolt_progress'")) {
                    changed.computeIfAbsent(row.get(0), h -> new TreeSet<>()).add(row.get(1));
                }
                Map<String, Set<String>> snapshotTables = new HashMap<>();
                for (List<String> row :
                        f.replica.rows(
                                "SELECT commit_hash, message FROM dolt_log"
                                        + " WHERE message LIKE 'pgdolt: initial snapshot%'")) {
                    String pipeline =
                            row.get(1)
                                    .lines()
                                    .filter(l -> l.startsWith("pipeline: "))
                                    .findFirst()
                                    .orElseThrow();
                    snapshotTables.put(pipeline, changed.get(row.get(0)));
                }
                assertThat(snapshotTables)
                        .isEqualTo(
                                Map.of(
                                        "pipeline: " + f.name + ".ga",
                                        Set.of("public.acct", "public.ledger"),
                                        "pipeline: " + f.name + ".gb",
                                        Set.of("public.stock")));
                assertThat(f.doltCommits())
                        .extracting(ReplicationFixture.DoltCommit::xid)
                        .containsExactly(last, last);
            }
        }
    }

    /**
     * Stop with a savepoint in the middle of a stream in both groups, write while the job is down,
     * restore: each group resumes from its own state, with no transaction lost or applied twice.
     */
    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void everyGroupResumesFromASavepoint(
            String kind, @TempDir Path savepoints, @InjectMiniCluster MiniCluster cluster)
            throws Exception {
        try (ReplicationFixture f = withAccountsAndStock(kind, "groupsave")) {
            twoGroups(f);
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            List<Written> written = Collections.synchronizedList(new ArrayList<>());
            write(f, 0, written);
            markBothGroups(f, written);
            // Stop while transactions of both groups are committing.
            CompletableFuture<Void> during = CompletableFuture.runAsync(() -> write(f, 1, written));
            Thread.sleep(200);
            String savepoint = f.stopWithSavepoint(savepoints);
            during.get(2, TimeUnit.MINUTES);
            write(f, 2, written);
            f.startFrom(StreamExecutionEnvironment.getExecutionEnvironment(), savepoint);
            write(f, 3, written);
            markBothGroups(f, written);

            f.assertRestoredFrom(cluster, savepoint);
            f.assertTablesEqual(List.of("acct", "ledger", "stock"));
            if ("doltgres".equals(kind)) {
                assertDoltHistory(f, written);
            }
        }
    }

    /**
     * Each group into a database of its own ({@code groups[].replica_url}): each database holds its
     * group's tables, its group's progress row and, on Doltgres, its group's commits only.
     */
    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void groupsIntoDatabasesOfTheirOwn(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        kind,
                        "groupdbs",
                        List.of(),
                        DDL_ACCT,
                        DDL_LEDGER,
                        "INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 20) g")) {
            io.pgdolt.testing.Db second = f.replica.withDatabase(f.name + "_stock");
            f.replica.withDatabase("postgres").exec("CREATE DATABASE " + second.database());
            f.primary.exec(DDL_STOCK, "INSERT INTO stock VALUES (1, 10, 'one'), (2, 20, 'two')");
            second.exec(DDL_STOCK, "INSERT INTO stock VALUES (1, 10, 'one'), (2, 20, 'two')");
            if ("doltgres".equals(kind)) {
                f.replica.exec("SELECT dolt_commit('-A', '-m', 'test set-up')");
                second.exec("SELECT dolt_commit('-A', '-m', 'test set-up')");
            }
            twoGroups(f, "    replica_url: " + second.url());
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            long last;
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("UPDATE acct SET balance = 1 WHERE id = 1");
                    s.executeUpdate("INSERT INTO ledger VALUES (1, 1, -999, 'to stock')");
                    s.executeUpdate("UPDATE stock SET qty = 11 WHERE sku = 1");
                    s.executeUpdate("DELETE FROM stock WHERE sku = 2");
                }
                last = ReplicationFixture.currentXid(c);
                c.commit();
            }
            f.awaitApplied(f.name + ".ga", last, APPLY_TIMEOUT);
            Awaitility.await("group gb applies xid " + last)
                    .atMost(APPLY_TIMEOUT)
                    .ignoreExceptions()
                    .until(
                            () ->
                                    String.valueOf(last)
                                            .equals(
                                                    second.value(
                                                            "SELECT xid FROM public.pgdolt_progress"
                                                                    + " WHERE pipeline_id = '"
                                                                    + f.name
                                                                    + ".gb'")));
            f.assertTablesEqual(List.of("acct", "ledger"));
            assertThat(second.rows("SELECT sku, qty, name FROM stock ORDER BY sku"))
                    .isEqualTo(f.primary.rows("SELECT sku, qty, name FROM stock ORDER BY sku"))
                    .containsExactly(List.of("1", "11", "one"));
            assertThat(f.replica.rows("SELECT pipeline_id FROM public.pgdolt_progress"))
                    .containsExactly(List.of(f.name + ".ga"));
            assertThat(second.rows("SELECT pipeline_id FROM public.pgdolt_progress"))
                    .containsExactly(List.of(f.name + ".gb"));
            assertThat(f.verify()).as("pgdolt verify over both databases").isZero();
            if ("doltgres".equals(kind)) {
                assertThat(f.doltCommits())
                        .extracting(ReplicationFixture.DoltCommit::xid)
                        .containsExactly(last);
                List<List<String>> secondCommits =
                        second.rows(
                                "SELECT message FROM dolt_log WHERE message LIKE 'pgdolt: xid %'");
                assertThat(secondCommits).hasSize(1);
                assertThat(secondCommits.get(0).get(0))
                        .startsWith("pgdolt: xid " + last + " at LSN ")
                        .contains("pipeline: " + f.name + ".gb");
            }
        }
    }

    @Test
    void aTableInTwoGroupsIsRefusedAtStartUp() throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create("postgres", "groups", List.of(), DDL_ACCT, DDL_STOCK)) {
            String ga = f.name + "_ga";
            String gb = f.name + "_gb";
            f.primary.exec(
                    "CREATE PUBLICATION " + ga + " FOR TABLE acct, stock",
                    "CREATE PUBLICATION " + gb + " FOR TABLE stock",
                    "SELECT pg_create_logical_replication_slot('" + ga + "', 'pgoutput')");
            f.withGroups(
                    "  - name: ga", "    slot_name: " + ga, "  - name: gb", "    slot_name: " + gb);
            assertThatThrownBy(f::build)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("groups[gb].slot_name")
                    .hasMessageContaining("no replication slot '" + gb + "'");
            f.primary.exec("SELECT pg_create_logical_replication_slot('" + gb + "', 'pgoutput')");
            assertThatThrownBy(f::build)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("public.stock")
                    .hasMessageContaining("'ga' and 'gb'");
            assertThat(
                            f.replica.rows(
                                    "SELECT count(*) FROM information_schema.tables"
                                            + " WHERE table_name = 'pgdolt_progress'"))
                    .as("the replica is not touched before every group is checked")
                    .containsExactly(List.of("0"));
        }
    }
}
