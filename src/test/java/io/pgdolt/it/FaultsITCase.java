package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.BackgroundLoad;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TcpProxy;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import java.time.Duration;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the fault tests share: a job under a steady load, then catch-up and the checks. */
@ExtendWith(TestServers.class)
abstract class FaultsITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    /** Starts the load and the job, runs {@code fault} mid-load, and checks the outcome. */
    static void underLoad(ReplicationFixture f, Fault fault) throws Exception {
        Workload w = new Workload(97);
        try (BackgroundLoad load = new BackgroundLoad(w, f.primary)) {
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            awaitCommitted(load, 100);
            fault.run(load);
            int after = load.committed();
            awaitCommitted(load, after + 100);
            List<Long> xids = load.stopAndGet();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(5));
            assertThat(f.verify()).as("pgdolt verify").isZero();
            f.assertTablesEqual();
            if ("doltgres".equals(f.kind)) {
                assertThat(f.doltCommits())
                        .as("one Dolt commit per source transaction, in order")
                        .extracting(DoltCommit::xid)
                        .containsExactlyElementsOf(xids);
            }
        }
    }

    static void awaitCommitted(BackgroundLoad load, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (load.committed() < n) {
            assertThat(System.nanoTime()).as("writer progress").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /**
     * Waits until the replica has applied a transaction the writer committed after its first {@code
     * n}: the job has recovered from whatever happened before.
     */
    static void awaitReplicaPast(ReplicationFixture f, BackgroundLoad load, int n)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (true) {
            List<Long> xids = load.xids();
            String applied =
                    f.replica.value(
                            "SELECT xid FROM pgdolt_progress WHERE pipeline_id = '" + f.name + "'");
            if (applied != null
                    && xids.size() > n
                    && xids.subList(n, xids.size()).contains(Long.parseLong(applied))) {
                return;
            }
            assertThat(System.nanoTime())
                    .as("the job recovers and applies new work")
                    .isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** Waits until the proxy carries at least one connection of the job. */
    static void awaitConnected(TcpProxy proxy) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (proxy.openSockets() == 0) {
            assertThat(System.nanoTime())
                    .as("the job connects through the proxy")
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    static ReplicationFixture fixture(String kind, String prefix) throws Exception {
        return ReplicationFixture.create(kind, prefix, Workload.TABLES, Workload.DDL);
    }

    /** Creates proxies in front of the fixture's servers and points the job at them. */
    static TcpProxy[] proxies(ReplicationFixture f) throws Exception {
        TcpProxy primary = new TcpProxy(f.primary.host(), f.primary.port());
        TcpProxy replica = new TcpProxy(f.replica.host(), f.replica.port());
        f.withEndpoints(primary.port(), replica.port());
        return new TcpProxy[] {primary, replica};
    }

    interface Fault {
        void run(BackgroundLoad load) throws Exception;
    }
}
