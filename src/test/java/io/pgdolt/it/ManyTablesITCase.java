package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.Db;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStats;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * 500 tables in one publication: the replica tables are created from the primary's catalog, the
 * initial snapshot loads all of them as one commit, and a mixed workload of transactions spanning
 * up to four tables each streams after it. The replica ends equal, with one Dolt commit per
 * transaction, through a handful of connections whatever the table count. Start-up time and heap
 * are logged (the figures in the issue note come from here).
 */
@ExtendWith(TestServers.class)
class ManyTablesITCase {
    private static final Logger LOG = LoggerFactory.getLogger(ManyTablesITCase.class);
    private static final int TABLES = 500;
    private static final int ROWS_PER_TABLE = 20;
    private static final int TRANSACTIONS = 300;

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void snapshotsAndStreamsFiveHundredTables(String kind, @InjectMiniCluster MiniCluster cluster)
            throws Exception {
        // Doltgres 1.3.3 panics in its catalog ("all OIDs have been taken") when an OID it
        // derives from a CRC-32 collides (see README, limits); that is the server's bug, met at
        // random: go again on a fresh server, at most twice, and say so.
        for (int attempt = 1; ; attempt++) {
            try {
                runOnce(kind, cluster);
                return;
            } catch (Exception e) {
                boolean oidPanic =
                        "doltgres".equals(kind)
                                && String.valueOf(e.getMessage())
                                        .contains("all OIDs have been taken");
                if (!oidPanic || attempt == 3) {
                    throw e;
                }
                LOG.warn(
                        "attempt {}: Doltgres hit its OID collision bug; again on a fresh"
                                + " server",
                        attempt);
            }
        }
    }

    private void runOnce(String kind, MiniCluster cluster) throws Exception {
        List<String> tables = new ArrayList<>();
        List<String> ddl = new ArrayList<>();
        for (int i = 0; i < TABLES; i++) {
            String t = String.format("t%03d", i);
            tables.add(t);
            ddl.add(
                    "CREATE TABLE "
                            + t
                            + " (id int PRIMARY KEY, v text NOT NULL, n numeric(10,2),"
                            + " ts timestamptz)");
            ddl.add(
                    "INSERT INTO "
                            + t
                            + " SELECT g, 'row ' || g, g * 1.25, now() FROM generate_series(1, "
                            + ROWS_PER_TABLE
                            + ") g");
        }
        String database = null;
        // On Doltgres, a server of its own: Doltgres 1.3 gives every catalog item an OID from a
        // process-wide cache that never shrinks and panics on the first CRC-32 collision ("all
        // OIDs have been taken"), so 500 tables on the suite's shared server, after every other
        // test's, make that likely.
        io.pgdolt.bench.DoltgresServer own = null;
        Db replicaServer = TestServers.replica(kind);
        if ("doltgres".equals(kind)) {
            java.util.Optional<java.nio.file.Path> bin = TestServers.doltgresBinary();
            if (bin.isPresent()) {
                own =
                        new io.pgdolt.bench.DoltgresServer(
                                bin.get(), java.nio.file.Path.of("target", "many-tables-doltgres"));
                own.start(null, null);
                replicaServer = own.db();
            } else {
                LOG.warn("no PGDOLT_DOLTGRES_BIN: using the shared Doltgres server");
            }
        }
        try (ReplicationFixture f =
                ReplicationFixture.createOnPrimaryOnly(
                                kind, replicaServer, "many", tables, ddl.toArray(new String[0]))
                        .withReplicaYaml("create_tables: true")
                        .withStartupYaml("mode: initial", "snapshot_parallelism: 2")) {
            database = f.name;
            long heapBefore = usedHeapAfterGc();
            long started = System.nanoTime();
            // Builds the job as Main does: checks every table, creates the replica tables and
            // loads the snapshot before the job is submitted.
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            double startSeconds = (System.nanoTime() - started) / 1e9;
            assertThat(
                            f.replica.value(
                                    "SELECT count(*) FROM information_schema.tables"
                                            + " WHERE table_schema = 'public'"
                                            + " AND table_name LIKE 't___'"))
                    .isEqualTo(String.valueOf(TABLES));

            List<Long> xids = new ArrayList<>();
            Random random = new Random(500);
            int[] nextId = new int[TABLES];
            java.util.Arrays.fill(nextId, ROWS_PER_TABLE + 1);
            long streamStarted = System.nanoTime();
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                for (int i = 0; i < TRANSACTIONS; i++) {
                    TreeSet<Integer> touched = new TreeSet<>();
                    int span = 1 + random.nextInt(4);
                    while (touched.size() < span) {
                        touched.add(random.nextInt(TABLES));
                    }
                    int changed = 0;
                    for (int t : touched) {
                        changed += change(c, tables.get(t), random, nextId, t);
                    }
                    long xid = ReplicationFixture.currentXid(c);
                    c.commit();
                    if (changed > 0) {
                        // A transaction whose updates and deletes all missed changed nothing:
                        // there is nothing to replicate and no commit to expect.
                        xids.add(xid);
                    }
                }
            }
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(5));
            double streamSeconds = (System.nanoTime() - streamStarted) / 1e9;
            long heapRunning = usedHeapAfterGc();
            // Flink's checkpoint statistics can lag the checkpoints themselves (the committer has
            // applied everything, so some completed): read them until they show one.
            java.util.concurrent.atomic.AtomicReference<CompletedCheckpointStats> latest =
                    new java.util.concurrent.atomic.AtomicReference<>();
            org.awaitility.Awaitility.await("a checkpoint completed while streaming")
                    .atMost(Duration.ofSeconds(30))
                    .until(
                            () -> {
                                latest.set(
                                        cluster.getExecutionGraph(f.job().getJobID())
                                                .get()
                                                .getCheckpointStatsSnapshot()
                                                .getHistory()
                                                .getLatestCompletedCheckpoint());
                                return latest.get() != null;
                            });
            CompletedCheckpointStats checkpoint = latest.get();
            LOG.info(
                    "{} tables: latest checkpoint {} bytes of state, {} ms",
                    TABLES,
                    checkpoint.getStateSize(),
                    checkpoint.getEndToEndDuration());
            int primaryConnections = connections(f.primary);
            LOG.info(
                    "sessions on the primary: {}",
                    f.primary.rows(
                            "SELECT backend_type, application_name, state FROM pg_stat_activity"
                                    + " WHERE datname = current_database()"
                                    + " AND pid <> pg_backend_pid()"));
            // Doltgres's pg_stat_activity shows only the asking session.
            int replicaConnections = "postgres".equals(kind) ? connections(f.replica) : -1;
            LOG.info(
                    "{} tables on {}: start-up (checks, create_tables, snapshot of {} rows, job"
                            + " submitted) {} s; {} transactions streamed and applied in {} s;"
                            + " heap used after GC {} MiB before, {} MiB while running (test JVM"
                            + " with the whole MiniCluster); connections to the database: primary"
                            + " {}, replica {} (-1: the replica cannot tell)",
                    TABLES,
                    kind,
                    TABLES * ROWS_PER_TABLE,
                    String.format("%.1f", startSeconds),
                    TRANSACTIONS,
                    String.format("%.1f", streamSeconds),
                    heapBefore >> 20,
                    heapRunning >> 20,
                    primaryConnections,
                    replicaConnections);

            f.assertTablesEqual();
            // Per-table overhead must not show in connections. On the primary: the replication
            // stream, Debezium's and the enumerator's SQL connections, the lag poller, and
            // sometimes a snapshot connection still closing; on the replica the committer.
            assertThat(primaryConnections).isLessThanOrEqualTo(6);
            if ("postgres".equals(kind)) {
                assertThat(replicaConnections).isBetween(1, 3);
            }
            if ("doltgres".equals(kind)) {
                assertThat(f.doltCommits())
                        .extracting(ReplicationFixture.DoltCommit::xid)
                        .containsExactlyElementsOf(xids);
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM dolt_log WHERE message LIKE 'pgdolt:"
                                                + " initial snapshot%'"))
                        .isEqualTo("1");
            }
        } finally {
            if (database != null) {
                // 500 tables are more than any other test leaves behind: do not leave them.
                dropQuietly(
                        replicaServer,
                        "DROP DATABASE IF EXISTS "
                                + database
                                + ("postgres".equals(kind) ? " WITH (FORCE)" : ""));
                dropQuietly(
                        TestServers.primary(),
                        "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
            }
            if (own != null) {
                own.close();
            }
        }
    }

    private static void dropQuietly(Db server, String sql) {
        try {
            server.exec(sql);
        } catch (Exception e) {
            LOG.warn("{} failed: {}", sql, e.getMessage());
        }
    }

    /** An insert, an update or a delete on table number {@code t}; returns the rows changed. */
    private static int change(Connection c, String table, Random random, int[] nextId, int t)
            throws Exception {
        int kind = random.nextInt(3);
        if (kind == 0) {
            try (PreparedStatement ps =
                    c.prepareStatement("INSERT INTO " + table + " VALUES (?, ?, ?, now())")) {
                ps.setInt(1, nextId[t]++);
                ps.setString(2, "new in " + table + " it's \"quoted\"");
                ps.setBigDecimal(3, java.math.BigDecimal.valueOf(random.nextInt(100000), 2));
                return ps.executeUpdate();
            }
        } else if (kind == 1) {
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "UPDATE " + table + " SET v = v || '+', n = ? WHERE id = ?")) {
                ps.setBigDecimal(1, java.math.BigDecimal.valueOf(random.nextInt(100000), 2));
                ps.setInt(2, 1 + random.nextInt(ROWS_PER_TABLE));
                return ps.executeUpdate();
            }
        } else {
            try (Statement st = c.createStatement()) {
                return st.executeUpdate(
                        "DELETE FROM " + table + " WHERE id = (SELECT min(id) FROM " + table + ")");
            }
        }
    }

    /** Sessions connected to {@code db}'s database, other than this one. */
    private static int connections(Db db) throws Exception {
        return Integer.parseInt(
                        db.value(
                                "SELECT count(*) FROM pg_stat_activity WHERE datname = '"
                                        + db.database()
                                        + "'"))
                - 1;
    }

    private static long usedHeapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
