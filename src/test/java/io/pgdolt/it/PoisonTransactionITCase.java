package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.txn.Lsn;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A transaction the replica rejects (a replica-side CHECK constraint the primary lacks): the job
 * stops naming xid, LSN, table and statement; nothing after it is applied; the slot is not
 * confirmed past it. Once the replica is fixed, resuming from the last checkpoint applies it and
 * everything after, each exactly once.
 */
@ExtendWith(TestServers.class)
class PoisonTransactionITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @TempDir Path checkpoints;

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void stopsAtThePoisonTransactionAndResumesOnceFixed(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                                kind,
                                "poison",
                                List.of("accounts", "ledger"),
                                "CREATE TABLE accounts (id int PRIMARY KEY, balance int)",
                                "CREATE TABLE ledger (id int PRIMARY KEY, account int, amount int)")
                        .withPipelineYaml("checkpoint_dir: " + checkpoints.toUri())) {
            f.replica.exec("ALTER TABLE ledger ADD CONSTRAINT amount_small CHECK (amount < 1000)");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            Configuration noRestart = new Configuration();
            noRestart.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            env.configure(noRestart);
            f.start(env);

            List<Long> xids = new ArrayList<>();
            long poison;
            List<List<String>> beforePoison;
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.executeUpdate("INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 10) g");
                xids.add(ReplicationFixture.currentXid(c));
                c.commit();
                for (int i = 1; i <= 30; i++) {
                    transfer(st, i, 10 * i);
                    xids.add(ReplicationFixture.currentXid(c));
                    c.commit();
                }
                beforePoison = f.primary.rows("SELECT * FROM ledger ORDER BY id");
                transfer(st, 31, 5000);
                poison = ReplicationFixture.currentXid(c);
                xids.add(poison);
                c.commit();
                for (int i = 32; i <= 60; i++) {
                    transfer(st, i, i);
                    xids.add(ReplicationFixture.currentXid(c));
                    c.commit();
                }
            }

            Throwable failure = null;
            try {
                f.job().getJobExecutionResult().get(3, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                failure = e;
            }
            assertThat(failure).as("the job stops").isNotNull();
            String message = ExceptionUtils.stringifyException(failure);
            assertThat(message)
                    .contains("replica refused source transaction xid " + poison)
                    .contains("on table public.ledger")
                    .contains("INSERT INTO \"public\".\"ledger\"")
                    .contains("amount_small");
            Matcher lsn =
                    Pattern.compile("xid " + poison + " \\(commit LSN ([0-9A-F]+/[0-9A-F]+)\\)")
                            .matcher(message);
            assertThat(lsn.find()).as("the error names the commit LSN").isTrue();
            Lsn poisonLsn = Lsn.parse(lsn.group(1));

            // Nothing after it, everything before it.
            assertThat(
                            f.replica.value(
                                    "SELECT xid FROM pgdolt_progress WHERE pipeline_id = '"
                                            + f.name
                                            + "'"))
                    .isEqualTo(String.valueOf(xids.get(30)));
            assertThat(f.replica.rows("SELECT * FROM ledger ORDER BY id")).isEqualTo(beforePoison);
            Lsn confirmed =
                    Lsn.parse(
                            f.primary.value(
                                    "SELECT confirmed_flush_lsn FROM pg_replication_slots"
                                            + " WHERE slot_name = '"
                                            + f.name
                                            + "'"));
            assertThat(confirmed)
                    .as("slot not confirmed past the poison")
                    .isLessThanOrEqualTo(poisonLsn);

            // Fixed on the replica: the last checkpoint holds the rest.
            f.replica.exec("ALTER TABLE ledger DROP CONSTRAINT amount_small");
            f.startFrom(
                    StreamExecutionEnvironment.getExecutionEnvironment(),
                    ReplicationFixture.latestCheckpoint(checkpoints));
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(2));
            f.assertTablesEqual();
            if ("doltgres".equals(kind)) {
                assertThat(f.doltCommits())
                        .extracting(DoltCommit::xid)
                        .containsExactlyElementsOf(xids);
            }
        }
    }

    private static void transfer(Statement st, int id, int amount) throws Exception {
        int account = 1 + id % 10;
        st.executeUpdate("INSERT INTO ledger VALUES (" + id + ", " + account + ", " + amount + ")");
        st.executeUpdate(
                "UPDATE accounts SET balance = balance + " + amount + " WHERE id = " + account);
    }
}
