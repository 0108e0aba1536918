package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import io.pgdolt.txn.Lsn;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end on real servers: 1,000+ source transactions over three tables, one of 10,000 rows,
 * replicate into an equal replica, with one Dolt commit per transaction, in commit order, naming
 * its xid and LSN, dated with the source commit time.
 */
@ExtendWith(TestServers.class)
class ReplicationITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void replicatesEveryTransactionExactlyOnceInOrder(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "repl", Workload.TABLES, Workload.DDL)) {
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            Workload w = new Workload(42);
            try (Connection c = f.primary.connect()) {
                w.run(c, 600);
                w.bulk(c, 10_000);
                w.run(c, 500);
            }
            List<Long> xids = w.xids();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(5));
            f.assertTablesEqual();

            // On an idle primary, a lone transaction is closed by its END marker and applied
            // within a checkpoint or two, not held back until the next transaction.
            long lone;
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                c.createStatement()
                        .executeUpdate("UPDATE accounts SET owner = 'idle' WHERE id = 1");
                lone = ReplicationFixture.currentXid(c);
                c.commit();
            }
            xids = new ArrayList<>(xids);
            xids.add(lone);
            f.awaitApplied(lone, Duration.ofSeconds(5));
            f.assertTablesEqual();

            if ("doltgres".equals(kind)) {
                List<DoltCommit> commits = f.doltCommits();
                assertThat(commits).extracting(DoltCommit::xid).containsExactlyElementsOf(xids);
                List<Lsn> lsns = new ArrayList<>();
                for (DoltCommit dc : commits) {
                    lsns.add(Lsn.parse(dc.lsn()));
                }
                assertThat(lsns).isSortedAccordingTo(Lsn::compareTo).doesNotHaveDuplicates();
                assertCommitDatesMatchSource(f, commits);
            }
        }
    }

    /** Each Dolt commit's date is the primary's commit timestamp of its xid, to the second. */
    static void assertCommitDatesMatchSource(ReplicationFixture f, List<DoltCommit> commits)
            throws Exception {
        DateTimeFormatter doltDate = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss[.SSS]");
        int checked = 0;
        for (int i = 0; i < commits.size(); i += Math.max(1, commits.size() / 50)) {
            DoltCommit dc = commits.get(i);
            String source =
                    f.primary.value(
                            "SELECT to_char(pg_xact_commit_timestamp('"
                                    + dc.xid()
                                    + "'::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')");
            Instant sourceSecond =
                    LocalDateTime.parse(source, DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss"))
                            .toInstant(ZoneOffset.UTC);
            Instant doltSecond =
                    LocalDateTime.parse(dc.date().replace('T', ' ').replace("Z", ""), doltDate)
                            .toInstant(ZoneOffset.UTC)
                            .truncatedTo(ChronoUnit.SECONDS);
            assertThat(doltSecond)
                    .as("date of the commit of xid %d", dc.xid())
                    .isEqualTo(sourceSecond);
            checked++;
        }
        assertThat(checked).isGreaterThan(0);
    }
}
