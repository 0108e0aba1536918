package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.BackgroundLoad;
import io.pgdolt.testing.LocalCluster;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upgrade on a real standalone cluster: stop-with-savepoint under load, a table added to the
 * publication while the job is down, and the changed job (parallelism 1 → 2) resubmitted from the
 * savepoint with Flink's CLI. Everything committed before, during and after ends on the replica
 * exactly once, in commit order.
 */
@ExtendWith(TestServers.class)
class SavepointUpgradeITCase {

    @TempDir Path dir;

    @Test
    void upgradesThroughASavepoint() throws Exception {
        List<String> ddl = new ArrayList<>(List.of(Workload.DDL));
        ddl.add("CREATE TABLE notes (id int PRIMARY KEY, body text)");
        try (LocalCluster cluster = LocalCluster.start(dir.resolve("flink"), 1);
                ReplicationFixture f =
                        ReplicationFixture.create(
                                "doltgres",
                                "upgrade",
                                Workload.TABLES,
                                ddl.toArray(new String[0]))) {
            List<Long> expected = new ArrayList<>();
            String job;
            String v2;
            try (BackgroundLoad load = new BackgroundLoad(new Workload(1), f.primary)) {
                job = cluster.submit(f.writeConfig(dir.resolve("v1")));
                cluster.awaitState(job, "RUNNING", Duration.ofMinutes(2));
                FaultsITCase.awaitCommitted(load, 200);
                String savepoint = cluster.stopWithSavepoint(job);
                expected.addAll(load.stopAndGet());
                assertThat(cluster.enteredAt(job, "RESTARTING"))
                        .as("v1 ran without a failover up to its savepoint")
                        .isZero();

                // While the job is down: a new table joins the publication and gets rows.
                f.primary.exec("ALTER PUBLICATION " + f.name + " ADD TABLE notes");
                expected.addAll(notes(f, 1, 20));

                f.withPipelineYaml("parallelism: 2");
                v2 = cluster.submit(f.writeConfig(dir.resolve("v2")), "-s", savepoint);
                cluster.awaitState(v2, "RUNNING", Duration.ofMinutes(2));
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM dolt_log WHERE message LIKE"
                                                + " 'pgdolt: initial%'"))
                        .as("restored from state: no snapshot")
                        .isEqualTo("0");
                try (BackgroundLoad again =
                        new BackgroundLoad(new Workload(2, 1_000_000), f.primary)) {
                    FaultsITCase.awaitCommitted(again, 200);
                    expected.addAll(again.stopAndGet());
                }
                expected.addAll(notes(f, 21, 40));
            }
            f.awaitApplied(expected.get(expected.size() - 1), Duration.ofMinutes(5));
            assertThat(cluster.enteredAt(v2, "RESTARTING"))
                    .as("v2 ran without a failover")
                    .isZero();
            assertThat(f.verify()).as("pgdolt verify, notes included").isZero();
            assertThat(f.replica.value("SELECT count(*) FROM notes")).isEqualTo("40");
            assertThat(f.doltCommits())
                    .extracting(DoltCommit::xid)
                    .containsExactlyElementsOf(expected);
        }
    }

    /** One transaction per row of notes {@code from..to}; their xids in commit order. */
    private static List<Long> notes(ReplicationFixture f, int from, int to) throws Exception {
        List<Long> xids = new ArrayList<>();
        try (Connection c = f.primary.connect();
                Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            for (int i = from; i <= to; i++) {
                st.executeUpdate("INSERT INTO notes VALUES (" + i + ", 'note " + i + "')");
                xids.add(ReplicationFixture.currentXid(c));
                c.commit();
            }
        }
        return xids;
    }
}
