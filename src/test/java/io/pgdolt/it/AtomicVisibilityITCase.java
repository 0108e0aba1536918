package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Money moves between accounts in multi-row transactions; the total never changes on the primary.
 * Read {@code AS OF} every Dolt commit the pipeline made, the replica's total never changes either:
 * no reader of the history can see half a transaction.
 */
@ExtendWith(TestServers.class)
class AtomicVisibilityITCase {
    private static final int ACCOUNTS = 20;
    private static final BigDecimal TOTAL = new BigDecimal("20000.00");

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @Test
    void everyCommitHoldsTheSameTotal() throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        "doltgres",
                        "atomic",
                        List.of("accounts", "ledger"),
                        "CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(14,2) NOT"
                                + " NULL)",
                        "CREATE TABLE ledger (id bigint PRIMARY KEY, src int, dst int,"
                                + " amount numeric(14,2))")) {
            // The opening balances are one transaction, replicated like any other.
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            List<Long> xids = new ArrayList<>();
            Random random = new Random(3);
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                try (PreparedStatement ps =
                        c.prepareStatement("INSERT INTO accounts VALUES (?, 1000.00)")) {
                    for (int i = 1; i <= ACCOUNTS; i++) {
                        ps.setInt(1, i);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                xids.add(ReplicationFixture.currentXid(c));
                c.commit();
                try (PreparedStatement debit =
                                c.prepareStatement(
                                        "UPDATE accounts SET balance = balance - ? WHERE id = ?");
                        PreparedStatement credit =
                                c.prepareStatement(
                                        "UPDATE accounts SET balance = balance + ? WHERE id = ?");
                        PreparedStatement log =
                                c.prepareStatement("INSERT INTO ledger VALUES (?, ?, ?, ?)")) {
                    for (long t = 1; t <= 400; t++) {
                        // One debit spread over up to four credits, then the ledger row.
                        int from = 1 + random.nextInt(ACCOUNTS);
                        int parts = 1 + random.nextInt(4);
                        BigDecimal sum = BigDecimal.ZERO;
                        for (int p = 0; p < parts; p++) {
                            BigDecimal amount =
                                    new BigDecimal(random.nextInt(5000)).movePointLeft(2);
                            credit.setBigDecimal(1, amount);
                            credit.setInt(2, 1 + random.nextInt(ACCOUNTS));
                            credit.executeUpdate();
                            sum = sum.add(amount);
                        }
                        debit.setBigDecimal(1, sum);
                        debit.setInt(2, from);
                        debit.executeUpdate();
                        log.setLong(1, t);
                        log.setInt(2, from);
                        log.setInt(3, parts);
                        log.setBigDecimal(4, sum);
                        log.executeUpdate();
                        xids.add(ReplicationFixture.currentXid(c));
                        c.commit();
                    }
                }
            }
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(3));
            f.assertTablesEqual();

            List<DoltCommit> commits = f.doltCommits();
            assertThat(commits).extracting(DoltCommit::xid).containsExactlyElementsOf(xids);
            try (Connection r = f.replica.connect()) {
                for (DoltCommit dc : commits) {
                    List<List<String>> rows =
                            io.pgdolt.testing.Db.rows(
                                    r,
                                    "SELECT sum(balance), count(*) FROM accounts AS OF '"
                                            + dc.hash()
                                            + "'");
                    assertThat(new BigDecimal(rows.get(0).get(0)))
                            .as("total AS OF commit %s (xid %d)", dc.hash(), dc.xid())
                            .isEqualByComparingTo(TOTAL);
                    assertThat(rows.get(0).get(1)).isEqualTo(String.valueOf(ACCOUNTS));
                }
            }
        }
    }
}
