package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Stop with a savepoint while the primary is busy, keep writing while the job is down, resume from
 * the savepoint: the replica ends equal, with no missing and no duplicate commits.
 */
@ExtendWith(TestServers.class)
class SavepointResumeITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void resumesFromSavepointWithoutGapsOrDuplicates(
            String kind, @TempDir Path savepoints, @InjectMiniCluster MiniCluster cluster)
            throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "savepoint", Workload.TABLES, Workload.DDL)) {
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            Workload w = new Workload(11);
            String savepoint;
            try (Connection c = f.primary.connect()) {
                w.run(c, 200);
                // A savepoint needs every task running: wait until the job has applied something.
                org.awaitility.Awaitility.await("the job applies its first transactions")
                        .atMost(java.time.Duration.ofMinutes(2))
                        .ignoreExceptions()
                        .until(
                                () ->
                                        "1"
                                                .equals(
                                                        f.replica.value(
                                                                "SELECT count(*) FROM"
                                                                        + " public.pgdolt_progress"
                                                                        + " WHERE pipeline_id = '"
                                                                        + f.name
                                                                        + "'")));
                // Stop in the middle of a busy stream: more transactions are committing now.
                CompletableFuture<Void> during =
                        CompletableFuture.runAsync(
                                () -> {
                                    try (Connection c2 = f.primary.connect()) {
                                        w.run(c2, 200);
                                    } catch (Exception e) {
                                        throw new RuntimeException(e);
                                    }
                                });
                Thread.sleep(300);
                savepoint = f.stopWithSavepoint(savepoints);
                assertThat(f.job().getJobStatus().get()).isEqualTo(JobStatus.FINISHED);
                during.get(2, TimeUnit.MINUTES);
                // Written while the job is down.
                w.run(c, 200);
                w.bulk(c, 2_000);

                f.startFrom(StreamExecutionEnvironment.getExecutionEnvironment(), savepoint);
                w.run(c, 100);
            }
            List<Long> xids = w.xids();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(4));
            f.assertTablesEqual();
            f.assertRestoredFrom(cluster, savepoint);
            if ("doltgres".equals(kind)) {
                List<DoltCommit> commits = f.doltCommits();
                assertThat(commits).extracting(DoltCommit::xid).containsExactlyElementsOf(xids);
            }
        }
    }

    /**
     * A transaction that wrote a row before the savepoint and commits after it: its change sits
     * below the savepoint's stream position, yet belongs to a transaction the job has not seen.
     * Flink CDC's stream-only start used to drop such changes (per table, until the table had a
     * change at or past that position); the replica lost the row.
     */
    @Test
    void keepsEarlyChangesOfATransactionCommittedAfterTheSavepoint(@TempDir Path savepoints)
            throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        "postgres", "interleaved", Workload.TABLES, Workload.DDL)) {
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            Workload w = new Workload(12);
            try (Connection c = f.primary.connect();
                    Connection open = f.primary.connect()) {
                w.run(c, 5);
                f.awaitApplied(w.xids().get(w.xids().size() - 1), Duration.ofMinutes(2));
                open.setAutoCommit(false);
                try (java.sql.Statement st = open.createStatement()) {
                    st.execute(
                            "INSERT INTO events (id, kind, payload) VALUES (9000001, 'early',"
                                    + " 'written before the savepoint')");
                }
                // Transactions after that change, committed and read before the savepoint: its
                // stream position is past the open transaction's change.
                w.run(c, 20);
                f.awaitApplied(w.xids().get(w.xids().size() - 1), Duration.ofMinutes(2));
                String savepoint = f.stopWithSavepoint(savepoints);
                try (java.sql.Statement st = open.createStatement()) {
                    st.execute(
                            "INSERT INTO events (id, kind, payload) VALUES (9000002, 'late',"
                                    + " 'written after the savepoint')");
                }
                open.commit();
                f.startFrom(StreamExecutionEnvironment.getExecutionEnvironment(), savepoint);
                w.run(c, 5);
            }
            f.awaitApplied(w.xids().get(w.xids().size() - 1), Duration.ofMinutes(2));
            assertThat(
                            f.replica.value(
                                    "SELECT string_agg(kind, ',' ORDER BY id) FROM public.events"
                                            + " WHERE id > 9000000"))
                    .isEqualTo("early,late");
            f.assertTablesEqual();
        }
    }
}
