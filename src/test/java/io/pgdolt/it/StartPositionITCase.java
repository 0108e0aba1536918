package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.config.ConfigException;
import io.pgdolt.testing.Db;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.ReplicationFixture.DoltCommit;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import io.pgdolt.txn.Lsn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Where a job without Flink state starts: after a replica loaded the way Doltgres's replication
 * docs describe (dump, note the LSN, restore, write {@code pg_wal_location}); after what the
 * replica already holds; and never across a gap in the slot.
 */
@ExtendWith(TestServers.class)
class StartPositionITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void fromLsnWithAWalLocationFile(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "fromlsn", Workload.TABLES, Workload.DDL)) {
            Workload w = new Workload(7);
            try (Connection c = f.primary.connect()) {
                // Changes before the dump: the slot holds them too, and the dump has them.
                w.run(c, 200);
                w.bulk(c, 2000);
            }
            // Writes frozen: dump, note the LSN, restore into the replica.
            Path dump = dir.resolve("dump.sql");
            run(
                    List.of(
                            pgBin("pg_dump"),
                            "--data-only",
                            "--no-owner",
                            "--no-privileges",
                            "-h",
                            f.primary.host(),
                            "-p",
                            String.valueOf(f.primary.port()),
                            "-U",
                            f.primary.user(),
                            "-f",
                            dump.toString(),
                            "-t",
                            "accounts",
                            "-t",
                            "orders",
                            "-t",
                            "events",
                            f.primary.database()),
                    f.primary.password());
            String lsn = f.primary.value("SELECT pg_current_wal_lsn()");
            restore(f.replica, dump);
            Path walLocation = dir.resolve(".doltcfg/pg_wal_location");
            Files.createDirectories(walLocation.getParent());
            Files.writeString(walLocation, lsn + "\n", StandardCharsets.UTF_8);
            int before = w.xids().size();
            try (Connection c = f.primary.connect()) {
                w.run(c, 150);
            }
            f.withStartupYaml("mode: from-lsn", "wal_location_file: " + walLocation);
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            try (Connection c = f.primary.connect()) {
                w.run(c, 150);
            }
            List<Long> xids = w.xids();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(3));
            f.assertTablesEqual();
            if ("doltgres".equals(kind)) {
                // Exactly the transactions after the dump, each once.
                assertThat(f.doltCommits())
                        .extracting(DoltCommit::xid)
                        .containsExactlyElementsOf(xids.subList(before, xids.size()));
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM dolt_log WHERE message LIKE"
                                                + " 'pgdolt: start at LSN "
                                                + lsn
                                                + "%'"))
                        .isEqualTo("1");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void resumesFromTheReplicaAndRefusesAGap(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "resume", Workload.TABLES, Workload.DDL)) {
            Workload w = new Workload(11);
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            try (Connection c = f.primary.connect()) {
                w.run(c, 200);
            }
            f.awaitApplied(w.xids().get(w.xids().size() - 1), Duration.ofMinutes(2));
            // Let a few checkpoints confirm the slot, then drop the job and its state.
            Thread.sleep(2000);
            f.job().cancel().get(1, TimeUnit.MINUTES);
            awaitSlotInactive(f);
            try (Connection c = f.primary.connect()) {
                w.run(c, 200);
            }

            // A new job without state, configured for a snapshot: the replica's progress wins,
            // nothing is snapshotted, and the 200 transactions since are applied once each.
            f.withStartupYaml("mode: initial");
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            List<Long> xids = w.xids();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(2));
            f.assertTablesEqual();
            if ("doltgres".equals(kind)) {
                assertThat(f.doltCommits())
                        .extracting(DoltCommit::xid)
                        .containsExactlyElementsOf(xids);
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM dolt_log"
                                                + " WHERE message LIKE 'pgdolt: initial%'"))
                        .isEqualTo("0");
            }

            // The gap: changes the replica never got, and a slot confirmed past them.
            f.job().cancel().get(1, TimeUnit.MINUTES);
            awaitSlotInactive(f);
            try (Connection c = f.primary.connect()) {
                w.run(c, 20);
            }
            String applied =
                    f.replica.value(
                            "SELECT commit_lsn FROM pgdolt_progress WHERE pipeline_id = '"
                                    + f.name
                                    + "'");
            f.primary.exec(
                    "SELECT pg_replication_slot_advance('" + f.name + "', pg_current_wal_lsn())");
            String confirmed =
                    f.primary.value(
                            "SELECT confirmed_flush_lsn FROM pg_replication_slots"
                                    + " WHERE slot_name = '"
                                    + f.name
                                    + "'");
            assertThat(Lsn.parse(confirmed)).isGreaterThan(Lsn.parse(applied));
            assertThatThrownBy(f::build)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(
                            "cannot resume: the replica holds pipeline "
                                    + f.name
                                    + " up to commit LSN "
                                    + applied)
                    .hasMessageContaining("has been confirmed up to " + confirmed)
                    .hasMessageContaining("re-snapshot");
            // Nothing was applied by the refused start.
            assertThat(
                            f.replica.value(
                                    "SELECT commit_lsn FROM pgdolt_progress WHERE pipeline_id = '"
                                            + f.name
                                            + "'"))
                    .isEqualTo(applied);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void aSnapshotThatFailsIsLoadedAgainFromScratch(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                                kind,
                                "resnap",
                                List.of("a", "b", "c"),
                                "CREATE TABLE a (id int PRIMARY KEY, v text)",
                                "CREATE TABLE b (id int PRIMARY KEY, amount int)",
                                // Empty: nothing to copy.
                                "CREATE TABLE c (id int PRIMARY KEY)")
                        .withStartupYaml("mode: initial", "snapshot_chunk_rows: 1000")) {
            f.primary.exec(
                    "INSERT INTO a SELECT g, 'v' || g FROM generate_series(1, 20000) g",
                    "INSERT INTO b SELECT g, g FROM generate_series(1, 20000) g",
                    "ANALYZE");

            // A replica that already holds rows is not overwritten by a snapshot.
            f.replica.exec("INSERT INTO b VALUES (-1, -1)");
            assertThatThrownBy(f::build)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("the replica's tables [public.b] already hold rows")
                    .hasMessageContaining("from-lsn");
            f.replica.exec("DELETE FROM b");

            // The replica rejects part of the snapshot: the start fails naming the table, and
            // what was loaded is not recorded as a snapshot.
            f.replica.exec("ALTER TABLE b ADD CONSTRAINT small CHECK (amount < 15000)");
            assertThatThrownBy(f::build)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("initial snapshot of public.b")
                    .hasMessageContaining("small");
            assertThat(f.replica.value("SELECT count(*) FROM a")).isNotEqualTo("0");

            // Fixed: the next start empties the tables and loads the snapshot again.
            f.replica.exec("ALTER TABLE b DROP CONSTRAINT small");
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            long xid;
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                c.createStatement().executeUpdate("UPDATE b SET amount = 0 WHERE id = 1");
                xid = ReplicationFixture.currentXid(c);
                c.commit();
            }
            f.awaitApplied(xid, Duration.ofMinutes(1));
            f.assertTablesEqual();
            if ("doltgres".equals(kind)) {
                assertThat(
                                f.replica.value(
                                        "SELECT count(*) FROM dolt_log"
                                                + " WHERE message LIKE 'pgdolt: initial snapshot"
                                                + " of 3 tables, 40000 rows%'"))
                        .isEqualTo("1");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void snapshotCopiesOnlyTheParentAndOneStartAtATime(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                                kind,
                                "onlyparent",
                                List.of("parent"),
                                "CREATE TABLE parent (id int PRIMARY KEY, v text)")
                        .withStartupYaml("mode: initial")) {
            // An inheritance child: its rows are not published with the parent.
            f.primary.exec(
                    "CREATE TABLE child (extra int) INHERITS (parent)",
                    "INSERT INTO parent VALUES (1, 'parent row')",
                    "INSERT INTO child VALUES (2, 'child row', 7)");

            // A second start while one prepares the replica is refused.
            try (Connection holder = f.primary.connect();
                    Statement st = holder.createStatement()) {
                st.execute("SELECT pg_advisory_lock(hashtext('pgdolt start " + f.name + "'))");
                assertThatThrownBy(f::build)
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("another start of the pipeline");
            }

            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            assertThat(f.replica.rows("SELECT id, v FROM parent ORDER BY id"))
                    .containsExactly(List.of("1", "parent row"));
        }
    }

    private static void awaitSlotInactive(ReplicationFixture f) throws Exception {
        for (int i = 0; i < 300; i++) {
            if ("f"
                    .equals(
                            f.primary.value(
                                    "SELECT active FROM pg_replication_slots WHERE slot_name = '"
                                            + f.name
                                            + "'"))) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("slot " + f.name + " stayed active");
    }

    private static void restore(Db replica, Path dump) throws IOException, InterruptedException {
        run(
                List.of(
                        "psql",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-q",
                        "-h",
                        replica.host(),
                        "-p",
                        String.valueOf(replica.port()),
                        "-U",
                        replica.user(),
                        "-d",
                        replica.database(),
                        "-f",
                        dump.toString()),
                replica.password());
    }

    private static String pgBin(String tool) {
        String bindir =
                System.getenv().getOrDefault("PGDOLT_PG_BINDIR", "/usr/lib/postgresql/15/bin");
        return Path.of(bindir, tool).toString();
    }

    private static void run(List<String> command, String password)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
        Map<String, String> env = pb.environment();
        env.put("PGPASSWORD", password);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + output);
        }
    }
}
