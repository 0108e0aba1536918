package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.txn.Lsn;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The default start: three tables holding 1,000,000 rows are loaded as one snapshot while a writer
 * keeps changing all three, then streaming takes over. Every writer transaction is either in the
 * snapshot or replicated after it as its own commit — never both, never neither — and the replica
 * ends equal to the primary.
 */
@ExtendWith(TestServers.class)
class InitialSnapshotITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    private static final int ACCOUNTS = 600_000;
    private static final int EVENTS = 300_000;
    private static final int NOTES = 100_000;
    private static final long MARKER_BASE = 10_000_000L;

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void snapshotThenStreamWithAWriterThroughout(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                                kind,
                                "snap",
                                List.of("accounts", "events", "\"Sales\".notes"),
                                "CREATE SCHEMA \"Sales\"",
                                "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text,"
                                        + " balance numeric(14,2), updated timestamptz)",
                                "CREATE TABLE events (id bigint PRIMARY KEY, kind varchar(10),"
                                        + " payload jsonb, at timestamp, xid bigint)",
                                "CREATE TABLE \"Sales\".notes (k text, n int, body text,"
                                        + " PRIMARY KEY (k, n))")
                        .withStartupYaml(
                                "mode: initial",
                                "snapshot_parallelism: 2",
                                "snapshot_chunk_rows: 50000")) {
            f.primary.exec(
                    "INSERT INTO accounts SELECT g, 'owner ' || g || E' \\'q\\' \\t',"
                            + " (g * 1.5)::numeric(14,2), timestamptz '2026-01-01 00:00:00+00'"
                            + " + g * interval '1 second' FROM generate_series(1, "
                            + ACCOUNTS
                            + ") g",
                    "INSERT INTO events SELECT g, 'load', jsonb_build_object('g', g, 's', 'é😀'),"
                            + " timestamp '2026-01-01' + g * interval '1 ms', NULL"
                            + " FROM generate_series(1, "
                            + EVENTS
                            + ") g",
                    "INSERT INTO \"Sales\".notes SELECT 'key-' || (g % 1000), g / 1000,"
                            + " CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('x', g % 50) END"
                            + " FROM generate_series(0, "
                            + (NOTES - 1)
                            + ") g",
                    "ANALYZE");

            Writer writer = new Writer(f);
            Thread thread = new Thread(writer, "writer");
            thread.start();
            writer.awaitTransactions(20);
            // Returns once the snapshot is loaded and recorded; the writer runs all through it.
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            int duringSnapshot = writer.done();
            Thread.sleep(3000);
            writer.stop.set(true);
            thread.join();
            assertThat(writer.failure).isNull();
            assertThat(writer.done()).isGreaterThan(duringSnapshot);

            f.awaitApplied(writer.lastXid, Duration.ofMinutes(5));
            assertThat(f.verify()).as("pgdolt verify exit status").isZero();

            assertThat(f.replica.value("SELECT count(*) FROM accounts"))
                    .isEqualTo(String.valueOf(ACCOUNTS));
            if ("doltgres".equals(kind)) {
                assertHistory(f, writer);
            }
        }
    }

    /**
     * One snapshot commit first; after it, exactly one commit per writer transaction the snapshot
     * does not hold, each after the snapshot's position.
     */
    private static void assertHistory(ReplicationFixture f, Writer writer) throws Exception {
        List<List<String>> snapshots =
                f.replica.rows(
                        "SELECT commit_hash, message FROM dolt_log"
                                + " WHERE message LIKE 'pgdolt: initial snapshot%'");
        assertThat(snapshots).hasSize(1);
        String snapshotHash = snapshots.get(0).get(0);
        String first = snapshots.get(0).get(1).split("\n", 2)[0];
        assertThat(first)
                .startsWith("pgdolt: initial snapshot of 3 tables, ")
                .contains(" rows, up to LSN ");
        Lsn point = Lsn.parse(first.substring(first.lastIndexOf(' ') + 1));

        Set<Long> inSnapshot = new HashSet<>();
        for (List<String> row :
                f.replica.rows(
                        "SELECT id FROM events AS OF '"
                                + snapshotHash
                                + "' WHERE id >= "
                                + MARKER_BASE)) {
            inSnapshot.add(Long.parseLong(row.get(0)) - MARKER_BASE);
        }
        List<DoltCommit> commits = f.doltCommits();
        Map<Long, Integer> commitsPerXid = new HashMap<>();
        for (DoltCommit c : commits) {
            commitsPerXid.merge(c.xid(), 1, Integer::sum);
            assertThat(Lsn.parse(c.lsn())).isGreaterThanOrEqualTo(point);
        }
        int streamed = 0;
        for (Map.Entry<Integer, Long> e : writer.xids.entrySet()) {
            boolean snap = inSnapshot.contains((long) e.getKey());
            int n = commitsPerXid.getOrDefault(e.getValue(), 0);
            assertThat(n)
                    .as("commits of writer transaction %d (xid %d)", e.getKey(), e.getValue())
                    .isEqualTo(snap ? 0 : 1);
            streamed += snap ? 0 : 1;
        }
        assertThat(inSnapshot).isNotEmpty();
        assertThat(streamed).isGreaterThan(0);
        assertThat(commits).hasSize(streamed);
        // The snapshot commit comes before every streamed one (dolt_log lists newest first).
        List<List<String>> log =
                f.replica.rows("SELECT message FROM dolt_log WHERE message LIKE 'pgdolt:%'");
        assertThat(log.get(log.size() - 1).get(0)).startsWith("pgdolt: initial snapshot");
    }

    /** Changes all three tables in each transaction; records each one's marker and xid. */
    static final class Writer implements Runnable {
        private final ReplicationFixture f;
        final AtomicBoolean stop = new AtomicBoolean();
        final Map<Integer, Long> xids = new java.util.concurrent.ConcurrentHashMap<>();
        volatile long lastXid;
        volatile Throwable failure;

        Writer(ReplicationFixture f) {
            this.f = f;
        }

        int done() {
            return xids.size();
        }

        void awaitTransactions(int n) throws InterruptedException {
            while (done() < n && failure == null) {
                Thread.sleep(20);
            }
        }

        @Override
        public void run() {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            try (Connection c = f.primary.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                for (int i = 1; !stop.get(); i++) {
                    int a = 1 + r.nextInt(ACCOUNTS);
                    st.executeUpdate(
                            "UPDATE accounts SET balance = balance + 1, updated = now()"
                                    + " WHERE id = "
                                    + a);
                    long xid = ReplicationFixture.currentXid(c);
                    st.executeUpdate(
                            "INSERT INTO events VALUES ("
                                    + (MARKER_BASE + i)
                                    + ", 'w', '{\"i\": "
                                    + i
                                    + "}', now(), "
                                    + xid
                                    + ")");
                    st.executeUpdate(
                            "UPDATE \"Sales\".notes SET body = coalesce(body, '') || '+'"
                                    + " WHERE k = 'key-"
                                    + r.nextInt(1000)
                                    + "' AND n = "
                                    + r.nextInt(NOTES / 1000));
                    if (i % 10 == 0) {
                        st.executeUpdate(
                                "DELETE FROM events WHERE id = " + (1 + r.nextInt(EVENTS)));
                    }
                    c.commit();
                    xids.put(i, xid);
                    lastXid = xid;
                    Thread.sleep(5);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }
    }
}
