package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.sink.FaultInjection;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication workload while the job fails again and again: committer failures right after a
 * checkpoint completed (before its transactions are applied) and right after the replica committed
 * a transaction (before Flink knew), and TaskManager losses at random moments. The job recovers
 * from its checkpoints by itself; the replica ends equal, with exactly one Dolt commit per source
 * transaction.
 */
@ExtendWith(TestServers.class)
class ExactlyOnceFailoverITCase {
    private static final Logger LOG = LoggerFactory.getLogger(ExactlyOnceFailoverITCase.class);

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    /** TaskManagers are never removed from MiniCluster's list: the live one is the last started. */
    private static int liveTaskManager = 0;

    @AfterEach
    void removeHook() {
        FaultInjection.install(null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void recoversFromRepeatedFailuresWithoutLossOrDuplicates(
            String kind, @InjectMiniCluster MiniCluster cluster) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "failover", Workload.TABLES, Workload.DDL)
                        // The bulk transaction is staged on the replica in 100 chunks.
                        .withPipelineYaml("transaction_chunk_rows: 100")) {
            AtomicReference<String> armed = new AtomicReference<>();
            List<String> fired = new ArrayList<>();
            java.util.concurrent.atomic.AtomicBoolean stagedFault =
                    new java.util.concurrent.atomic.AtomicBoolean(true);
            FaultInjection.install(
                    (point, txn) -> {
                        // Once, a staged transaction that the replica has just committed: the
                        // restored committer must skip it and clear its chunks.
                        boolean staged =
                                FaultInjection.AFTER_APPLY.equals(point)
                                        && txn.isStaged()
                                        && stagedFault.compareAndSet(true, false);
                        if (staged || armed.compareAndSet(point, null)) {
                            synchronized (fired) {
                                fired.add(point + " " + txn);
                            }
                            throw new RuntimeException("injected fault at " + point + " of " + txn);
                        }
                    });
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            awaitRunning(f);

            Workload w = new Workload(7);
            // A second writer interleaves its transactions with the first one's.
            Workload w2 = new Workload(8, 1_000_000);
            java.util.concurrent.atomic.AtomicBoolean faultsDone =
                    new java.util.concurrent.atomic.AtomicBoolean();
            CompletableFuture<Void> load =
                    CompletableFuture.runAsync(
                            () -> {
                                try (Connection c = f.primary.connect()) {
                                    w.run(c, 400);
                                    w.bulk(c, 10_000);
                                    w.run(c, 300);
                                    // Keep the job busy until every fault has been injected.
                                    while (!faultsDone.get()) {
                                        w.run(c, 5);
                                        Thread.sleep(200);
                                    }
                                } catch (Exception e) {
                                    throw new RuntimeException(e);
                                }
                            });

            CompletableFuture<Void> load2 =
                    CompletableFuture.runAsync(
                            () -> {
                                try (Connection c = f.primary.connect()) {
                                    while (!faultsDone.get()) {
                                        w2.run(c, 2);
                                        Thread.sleep(200);
                                    }
                                } catch (Exception e) {
                                    throw new RuntimeException(e);
                                }
                            });

            Random random = new Random();
            String[] plan = {
                FaultInjection.BEFORE_APPLY,
                "taskmanager",
                FaultInjection.AFTER_APPLY,
                FaultInjection.BEFORE_APPLY,
                "taskmanager",
                FaultInjection.AFTER_APPLY
            };
            int injected = 0;
            for (String fault : plan) {
                Thread.sleep(500 + random.nextInt(1500));
                if ("taskmanager".equals(fault)) {
                    LOG.info("failure {}: stopping TaskManager {}", injected + 1, liveTaskManager);
                    cluster.terminateTaskManager(liveTaskManager).get(60, TimeUnit.SECONDS);
                    cluster.startTaskManager();
                    liveTaskManager++;
                } else {
                    LOG.info("failure {}: arming committer fault {}", injected + 1, fault);
                    armed.set(fault);
                    Awaitility.await("fault " + fault + " fires")
                            .atMost(Duration.ofMinutes(2))
                            .until(() -> armed.get() == null);
                }
                injected++;
                awaitRunning(f);
            }
            faultsDone.set(true);
            load.get(5, TimeUnit.MINUTES);
            load2.get(1, TimeUnit.MINUTES);
            // A last transaction, committed after both writers stopped, marks the end.
            Workload last = new Workload(9, 2_000_000);
            try (Connection c = f.primary.connect()) {
                last.run(c, 1);
            }

            List<Long> xids = new ArrayList<>(w.xids());
            xids.addAll(w2.xids());
            xids.addAll(last.xids());
            f.awaitApplied(last.xids().get(0), Duration.ofMinutes(5));
            assertThat(injected).isGreaterThanOrEqualTo(5);
            assertThat(fired).hasSize(5);
            assertThat(fired)
                    .anyMatch(
                            e -> e.startsWith(FaultInjection.AFTER_APPLY) && e.contains("staged"));
            f.assertTablesEqual();
            assertThat(f.replica.value("SELECT count(*) FROM public.pgdolt_staging"))
                    .as("staged chunks left behind")
                    .isEqualTo("0");
            if ("doltgres".equals(kind)) {
                List<DoltCommit> commits = f.doltCommits();
                assertThat(commits)
                        .extracting(DoltCommit::xid)
                        .containsExactlyInAnyOrderElementsOf(xids);
                List<io.pgdolt.txn.Lsn> lsns = new ArrayList<>();
                for (DoltCommit dc : commits) {
                    lsns.add(io.pgdolt.txn.Lsn.parse(dc.lsn()));
                }
                assertThat(lsns).isSorted().doesNotHaveDuplicates();
            }
        }
    }

    private static void awaitRunning(ReplicationFixture f) {
        Awaitility.await("job running")
                .atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> f.job().getJobStatus().get() == JobStatus.RUNNING);
    }
}
