package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.BackgroundLoad;
import io.pgdolt.testing.LocalCluster;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real standalone cluster (JobManager and TaskManager in their own JVMs, scripts/cluster.sh),
 * the TaskManager is killed with SIGKILL twice during a two-minute load and a fresh one started
 * each time: the job recovers by itself from its checkpoints, the replica ends equal, with exactly
 * one Dolt commit per source transaction.
 */
@ExtendWith(TestServers.class)
class ClusterFailoverITCase {

    @TempDir Path dir;

    @Test
    void survivesTwoTaskManagerKills() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(dir.resolve("flink"), 1);
                ReplicationFixture f =
                        ReplicationFixture.create(
                                "doltgres", "clusterfo", Workload.TABLES, Workload.DDL)) {
            Workload w = new Workload(2026);
            try (BackgroundLoad load = new BackgroundLoad(w, f.primary)) {
                String job = cluster.submit(f.writeConfig(dir.resolve("job")));
                cluster.awaitState(job, "RUNNING", Duration.ofMinutes(2));
                long start = System.nanoTime();
                for (int kill = 1; kill <= 2; kill++) {
                    sleepUntil(start, Duration.ofSeconds(40L * kill));
                    long killed = System.currentTimeMillis();
                    cluster.killTaskManager();
                    cluster.addTaskManager();
                    // The job notices the lost TaskManager, restarts, and runs again by itself.
                    cluster.awaitEnteredSince(job, "RESTARTING", killed, Duration.ofSeconds(90));
                    cluster.awaitState(job, "RUNNING", Duration.ofMinutes(3));
                }
                sleepUntil(start, Duration.ofMinutes(2));
                List<Long> xids = load.stopAndGet();
                assertThat(xids).hasSizeGreaterThan(500);
                f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(5));
                assertThat(cluster.state(job)).isEqualTo("RUNNING");
                assertThat(f.verify()).as("pgdolt verify").isZero();
                assertThat(f.doltCommits())
                        .extracting(DoltCommit::xid)
                        .containsExactlyElementsOf(xids);
            }
        }
    }

    private static void sleepUntil(long start, Duration offset) throws InterruptedException {
        long wait = start + offset.toNanos() - System.nanoTime();
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000);
        }
    }
}
