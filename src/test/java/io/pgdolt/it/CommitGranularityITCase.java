package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.sink.FaultInjection;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import io.pgdolt.txn.Lsn;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code replica.commit_granularity: checkpoint}: a checkpoint's source transactions become one
 * replica transaction (one Dolt commit whose message lists every xid with its commit LSN), still
 * exactly once across a failure right after such a commit.
 */
@ExtendWith(TestServers.class)
class CommitGranularityITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @AfterEach
    void removeHook() {
        FaultInjection.install(null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void commitsPerCheckpointExactlyOnce(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "granular", Workload.TABLES, Workload.DDL)
                        .withReplicaYaml("commit_granularity: checkpoint")
                        // The bulk transaction is staged, and shares a group with inline ones.
                        .withPipelineYaml("transaction_chunk_rows: 100")) {
            // One failure, right after the replica committed a checkpoint's group: the restored
            // job gets the group again and must skip it.
            AtomicInteger applied = new AtomicInteger();
            List<String> fired = new ArrayList<>();
            FaultInjection.install(
                    (point, txn) -> {
                        if (point.equals(FaultInjection.AFTER_APPLY)
                                && applied.incrementAndGet() == 150) {
                            synchronized (fired) {
                                fired.add(txn.toString());
                            }
                            throw new RuntimeException("injected fault after " + txn);
                        }
                    });
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            Workload w = new Workload(11);
            try (Connection c = f.primary.connect()) {
                w.run(c, 200);
                w.bulk(c, 1_000);
                w.run(c, 200);
            }
            List<Long> xids = w.xids();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(3));
            f.assertTablesEqual();
            assertThat(fired).as("the fault fired once").hasSize(1);
            assertThat(f.replica.value("SELECT count(*) FROM public.pgdolt_staging"))
                    .as("staged chunks left behind")
                    .isEqualTo("0");

            if ("doltgres".equals(kind)) {
                List<List<String>> commits =
                        f.replica.rows(
                                "SELECT message FROM dolt_log WHERE message LIKE 'pgdolt: %'"
                                        + " AND message NOT LIKE 'pgdolt: start%'");
                Map<Long, Integer> seen = new HashMap<>();
                List<Lsn> lsns = new ArrayList<>();
                int groups = 0;
                for (List<String> row : commits) {
                    String message = row.get(0);
                    String first = message.split("\n", 2)[0];
                    if (first.startsWith("pgdolt: xid ")) {
                        seen.merge(Long.parseLong(first.split(" ")[2]), 1, Integer::sum);
                        continue;
                    }
                    groups++;
                    assertThat(first)
                            .matches(
                                    "pgdolt: \\d+ transactions, xids \\d+\\.\\.\\d+ at LSN"
                                            + " \\S+\\.\\.\\S+");
                    String body =
                            message.substring(
                                    message.indexOf(
                                            "transactions (xid, commit LSN, source commit time):"));
                    String[] lines = body.split("\n");
                    assertThat(lines.length - 1)
                            .as("the listed transactions match the count in " + first)
                            .isEqualTo(Integer.parseInt(first.split(" ")[1]));
                    for (int i = 1; i < lines.length; i++) {
                        String[] parts = lines[i].trim().split(" ");
                        seen.merge(Long.parseLong(parts[0]), 1, Integer::sum);
                        lsns.add(Lsn.parse(parts[1]));
                    }
                }
                assertThat(seen.keySet())
                        .as("every source transaction is in a commit")
                        .containsExactlyInAnyOrderElementsOf(xids);
                assertThat(seen.values()).as("and in one only").containsOnly(1);
                assertThat(groups).as("commits group transactions").isGreaterThan(0);
                assertThat(commits.size()).isLessThan(xids.size());
            }
        }
    }
}
