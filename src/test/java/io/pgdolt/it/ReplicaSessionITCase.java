package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.config.Secret;
import io.pgdolt.replica.ApplyException;
import io.pgdolt.replica.ConcurrentCommitterException;
import io.pgdolt.replica.DoltgresDialect;
import io.pgdolt.replica.PostgresDialect;
import io.pgdolt.replica.ReplicaDialect;
import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.replica.SchemaPolicy;
import io.pgdolt.testing.Db;
import io.pgdolt.testing.TestServers;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replica side on its own: statements, the progress row, and fencing of a second committer of
 * the same pipeline (a zombie task that missed its cancellation): by the progress compare-and-set
 * on PostgreSQL, by the pipeline's lock on Doltgres with one Dolt commit per transaction.
 */
@ExtendWith(TestServers.class)
class ReplicaSessionITCase {

    private static SourceTransaction txn(long xid, long lsn, RowChange... changes) {
        return new SourceTransaction(
                xid, Lsn.of(lsn), Instant.parse("2026-11-26T10:00:00.5Z"), List.of(changes));
    }

    private static RowChange insert(int id, String v) {
        return new RowChange(
                new TableId("public", "t"),
                RowChange.Op.INSERT,
                new String[] {"id"},
                new String[] {String.valueOf(id)},
                new String[] {"id", "v"},
                new String[] {String.valueOf(id), v});
    }

    private static RowChange update(int id, String v) {
        return new RowChange(
                new TableId("public", "t"),
                RowChange.Op.UPDATE,
                new String[] {"id"},
                new String[] {String.valueOf(id)},
                new String[] {"id", "v"},
                new String[] {String.valueOf(id), v});
    }

    /** A new database on the {@code kind} replica server, holding an empty table t. */
    private static Db freshDatabase(String kind, String prefix) throws Exception {
        String name =
                (prefix + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36))
                        .toLowerCase(Locale.ROOT);
        Db server = TestServers.replica(kind);
        server.exec("CREATE DATABASE " + name);
        Db db = server.withDatabase(name);
        db.exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
        return db;
    }

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void secondCommitterIsFencedAndNothingAppliesTwice(String kind) throws Exception {
        Db db = freshDatabase(kind, "sess_");
        ReplicaDialect dialect =
                "doltgres".equals(kind)
                        ? new DoltgresDialect(true, "t <t@example.com>")
                        : new PostgresDialect();
        Secret pw = new Secret(db.password());
        try (ReplicaSession a =
                        ReplicaSession.open(
                                db.url(), db.user(), pw, dialect, "p1", SchemaPolicy.STRICT);
                ReplicaSession b =
                        ReplicaSession.open(
                                db.url(), db.user(), pw, dialect, "p1", SchemaPolicy.STRICT)) {
            assertThat(a.appliedLsn()).isEqualTo(Lsn.ZERO);
            assertThat(b.appliedLsn()).isEqualTo(Lsn.ZERO);

            a.apply(txn(1, 100, insert(1, "one"), insert(2, "two")), Lsn.ZERO);
            // b still believes nothing is applied: its attempt must not apply anything.
            assertThatThrownBy(
                            () ->
                                    b.apply(
                                            txn(1, 100, insert(1, "one"), insert(2, "two")),
                                            Lsn.ZERO))
                    .isInstanceOf(ApplyException.class)
                    .satisfies(e -> assertThat(((ApplyException) e).isTransient()).isTrue());
            assertThatThrownBy(() -> b.apply(txn(2, 200, update(1, "uno")), Lsn.ZERO))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("another committer");
            assertThat(b.appliedLsn()).isEqualTo(Lsn.of(100));

            // An UPDATE writing the values the row already has still counts as applied.
            a.apply(txn(3, 300, update(2, "two")), Lsn.of(100));
            assertThat(a.appliedLsn()).isEqualTo(Lsn.of(300));
            // A row the replica lacks is divergence, never silently skipped.
            assertThatThrownBy(() -> a.apply(txn(4, 400, update(9, "x")), Lsn.of(300)))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("xid 4")
                    .hasMessageContaining("public.t")
                    .hasMessageContaining("diverged");
            // A failing transaction leaves nothing behind, not even the part before a TRUNCATE
            // (Doltgres commits the open transaction at DDL; TRUNCATE must not do that).
            assertThatThrownBy(
                            () ->
                                    a.apply(
                                            txn(
                                                    5,
                                                    500,
                                                    insert(3, "three"),
                                                    RowChange.truncate(new TableId("public", "t")),
                                                    insert(4, "four"),
                                                    update(9, "x")),
                                            Lsn.of(300)))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("xid 5");
        }
        assertThat(db.rows("SELECT id, v FROM t ORDER BY id"))
                .containsExactly(List.of("1", "one"), List.of("2", "two"));
        assertThat(db.value("SELECT commit_lsn FROM pgdolt_progress WHERE pipeline_id = 'p1'"))
                .isEqualTo("0/12C");
        if ("doltgres".equals(kind)) {
            assertThat(db.value("SELECT count(*) FROM dolt_log WHERE message LIKE 'pgdolt: xid %'"))
                    .isEqualTo("2");
        }
    }

    /**
     * {@link ReplicaSession#applyEach}: each transaction its own replica commit (on Doltgres its
     * own Dolt commit, message, author and date), the commits riding with the next transaction's
     * statements; a transaction the replica disagrees with stops the run with every earlier one
     * committed and nothing of it or after it applied.
     */
    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void applyEachCommitsEveryTransactionAndStopsAtTheFirstThatFails(String kind) throws Exception {
        Db db = freshDatabase(kind, "each_");
        boolean dolt = "doltgres".equals(kind);
        ReplicaDialect dialect =
                dolt ? new DoltgresDialect(true, "Each <each@example.com>") : new PostgresDialect();
        Secret pw = new Secret(db.password());
        List<Long> committed = new java.util.ArrayList<>();
        try (ReplicaSession s =
                ReplicaSession.open(db.url(), db.user(), pw, dialect, "p1", SchemaPolicy.STRICT)) {
            s.applyEach(
                    List.of(
                            txn(1, 100, insert(1, "one"), insert(2, "two")),
                            txn(2, 200, update(1, "uno")),
                            txn(3, 300, insert(3, "three"), update(2, "dos"))),
                    Lsn.ZERO,
                    true,
                    (t, nanos) -> committed.add(t.xid()));
            assertThat(committed).containsExactly(1L, 2L, 3L);
            assertThat(s.appliedLsn()).isEqualTo(Lsn.of(300));

            committed.clear();
            // xid 5 updates a row the replica lacks: 4 stays committed, 5 and 6 are not applied.
            assertThatThrownBy(
                            () ->
                                    s.applyEach(
                                            List.of(
                                                    txn(4, 400, insert(4, "four")),
                                                    txn(5, 500, insert(5, "five"), update(9, "x")),
                                                    txn(6, 600, insert(6, "six"))),
                                            Lsn.of(300),
                                            true,
                                            (t, nanos) -> committed.add(t.xid())))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("xid 5")
                    .hasMessageContaining("diverged");
            assertThat(committed).containsExactly(4L);
            assertThat(s.appliedLsn()).isEqualTo(Lsn.of(400));
        }
        assertThat(db.rows("SELECT id, v FROM t ORDER BY id"))
                .containsExactly(
                        List.of("1", "uno"),
                        List.of("2", "dos"),
                        List.of("3", "three"),
                        List.of("4", "four"));
        if (dolt) {
            // One Dolt commit per transaction, each with the author and the source commit time.
            assertThat(
                            db.rows(
                                    "SELECT message, committer, email FROM dolt_log"
                                            + " WHERE message LIKE 'pgdolt: xid %'"))
                    .extracting(
                            r ->
                                    r.get(0).lines().findFirst().orElse("")
                                            + " "
                                            + r.get(1)
                                            + " "
                                            + r.get(2))
                    .containsExactlyInAnyOrder(
                            "pgdolt: xid 1 at LSN 0/64 Each each@example.com",
                            "pgdolt: xid 2 at LSN 0/C8 Each each@example.com",
                            "pgdolt: xid 3 at LSN 0/12C Each each@example.com",
                            "pgdolt: xid 4 at LSN 0/190 Each each@example.com");
            assertThat(
                            db.value(
                                    "SELECT count(*) FROM dolt_log WHERE message LIKE 'pgdolt: xid"
                                            + " %' AND date = CAST('2026-11-26 10:00:00' AS"
                                            + " timestamp)"))
                    .isEqualTo("4");
        }
    }

    private static RowChange delete(int id) {
        return new RowChange(
                new TableId("public", "t"),
                RowChange.Op.DELETE,
                new String[] {"id"},
                new String[] {String.valueOf(id)},
                new String[0],
                new String[0]);
    }

    /**
     * On PostgreSQL small transactions commit several to a round trip, the replica checking each
     * statement's row count before the COMMIT that follows it: still one replica transaction per
     * source transaction, and a diverged one stops the run with exactly those before it committed.
     */
    @Test
    void groupedCommitsKeepOneTransactionEachAndStopAtTheFirstThatFails() throws Exception {
        Db db = freshDatabase("postgres", "grouped_");
        db.exec("INSERT INTO t VALUES (1, 'v0')");
        Secret pw = new Secret(db.password());
        List<Long> committed = new java.util.ArrayList<>();
        try (ReplicaSession s =
                ReplicaSession.open(
                        db.url(),
                        db.user(),
                        pw,
                        new PostgresDialect(),
                        "p1",
                        SchemaPolicy.STRICT)) {
            // The first transaction creates the progress row (alone: there is no row to check).
            s.applyEach(
                    List.of(txn(2, 200, insert(2, "r2"), update(1, "v2"))),
                    Lsn.ZERO,
                    true,
                    (t, nanos) -> committed.add(t.xid()));
            List<SourceTransaction> batch = new java.util.ArrayList<>();
            for (int x = 3; x <= 41; x++) {
                batch.add(txn(x, 100L * x, insert(x, "r" + x), update(1, "v" + x)));
            }
            List<Long> times = new java.util.ArrayList<>();
            s.applyEach(
                    batch,
                    Lsn.of(200),
                    true,
                    (t, nanos) -> {
                        committed.add(t.xid());
                        times.add(nanos);
                    });
            assertThat(committed)
                    .containsExactlyElementsOf(
                            java.util.stream.LongStream.rangeClosed(2, 41).boxed().toList());
            // Three round trips (16, 16 and 7 transactions), each one's time shared evenly.
            assertThat(times).allMatch(n -> n > 0);
            assertThat(new java.util.HashSet<>(times.subList(0, 16))).hasSize(1);
            assertThat(new java.util.HashSet<>(times.subList(16, 32))).hasSize(1);
            assertThat(new java.util.HashSet<>(times.subList(32, 39))).hasSize(1);
            assertThat(s.appliedLsn()).isEqualTo(Lsn.of(4100));

            committed.clear();
            batch.clear();
            for (int x = 42; x <= 61; x++) {
                batch.add(
                        x == 50
                                ? txn(x, 100L * x, insert(x, "r" + x), delete(999))
                                : txn(x, 100L * x, insert(x, "r" + x), update(1, "v" + x)));
            }
            assertThatThrownBy(
                            () ->
                                    s.applyEach(
                                            batch,
                                            Lsn.of(4100),
                                            true,
                                            (t, nanos) -> committed.add(t.xid())))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("xid 50")
                    .hasMessageContaining("diverged");
            assertThat(committed)
                    .containsExactlyElementsOf(
                            java.util.stream.LongStream.rangeClosed(42, 49).boxed().toList());
            assertThat(s.appliedLsn()).isEqualTo(Lsn.of(4900));

            // Another committer moves the progress row: the next group commits nothing.
            db.exec("UPDATE pgdolt_progress SET commit_lsn = '0/FFFF' WHERE pipeline_id = 'p1'");
            committed.clear();
            assertThatThrownBy(
                            () ->
                                    s.applyEach(
                                            List.of(
                                                    txn(50, 5000, insert(50, "r50")),
                                                    txn(51, 5100, insert(51, "r51"))),
                                            Lsn.of(4900),
                                            true,
                                            (t, nanos) -> committed.add(t.xid())))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("another committer");
            assertThat(committed).isEmpty();
        }
        assertThat(db.value("SELECT count(*) FROM t")).isEqualTo("49");
        assertThat(db.value("SELECT v FROM t WHERE id = 1")).isEqualTo("v49");
        assertThat(db.value("SELECT count(*) FROM t WHERE id BETWEEN 50 AND 61")).isEqualTo("0");
        // Each source transaction was a replica transaction of its own.
        assertThat(db.value("SELECT count(DISTINCT xmin::text) FROM t WHERE id BETWEEN 2 AND 49"))
                .isEqualTo("48");
    }

    /**
     * Doltgres, one Dolt commit per transaction: the pipeline's lock keeps a second session from
     * applying anything until the holder's connection ends; the progress row moves at the end of
     * each run, and the position after a run that stopped part-way comes from the newest Dolt
     * commit of the pipeline (not of another pipeline whose id starts the same).
     */
    @Test
    void onDoltgresTheLockFencesAndDoltCommitsRecordTheProgress() throws Exception {
        Db db = freshDatabase("doltgres", "lock_");
        ReplicaDialect dialect = new DoltgresDialect(true, "Lock <lock@example.com>");
        Secret pw = new Secret(db.password());
        List<Long> committed = new java.util.ArrayList<>();
        ReplicaSession a =
                ReplicaSession.open(db.url(), db.user(), pw, dialect, "p1", SchemaPolicy.STRICT);
        try (ReplicaSession b =
                ReplicaSession.open(db.url(), db.user(), pw, dialect, "p1", SchemaPolicy.STRICT)) {
            a.claim();
            assertThatThrownBy(b::claim)
                    .isInstanceOf(ConcurrentCommitterException.class)
                    .hasMessageContaining("another committer of pipeline p1");
            a.applyEach(
                    List.of(
                            txn(1, 100, insert(1, "one")),
                            txn(2, 200, insert(2, "two")),
                            txn(3, 300, update(1, "uno"))),
                    Lsn.ZERO,
                    true,
                    (t, nanos) -> committed.add(t.xid()));
            assertThat(committed).containsExactly(1L, 2L, 3L);
            assertThat(progressRow(db)).isEqualTo("0/12C");
            // b cannot apply while a holds the lock, even from the right position.
            assertThatThrownBy(() -> b.apply(txn(4, 400, insert(4, "x")), Lsn.of(300)))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("another committer")
                    .satisfies(e -> assertThat(((ApplyException) e).isTransient()).isTrue());

            // xid 5 fails part-way through the run: 4 is committed by its Dolt commit alone.
            committed.clear();
            assertThatThrownBy(
                            () ->
                                    a.applyEach(
                                            List.of(
                                                    txn(4, 400, insert(4, "four")),
                                                    txn(5, 500, update(9, "x")),
                                                    txn(6, 600, insert(6, "six"))),
                                            Lsn.of(300),
                                            true,
                                            (t, nanos) -> committed.add(t.xid())))
                    .isInstanceOf(ApplyException.class)
                    .hasMessageContaining("xid 5");
            assertThat(committed).containsExactly(4L);
            // Stopping on it, the session leaves the row at the last committed transaction.
            assertThat(progressRow(db)).isEqualTo("0/190");
            assertThat(b.appliedLsn()).isEqualTo(Lsn.of(400));
            // As after a crash part-way through a run: the row behind, the Dolt commits ahead.
            db.exec("UPDATE pgdolt_progress SET commit_lsn = '0/12C' WHERE pipeline_id = 'p1'");
            assertThat(b.appliedLsn()).isEqualTo(Lsn.of(400));

            // A new pipeline's first run stops part-way: its first transaction made the row.
            try (ReplicaSession fresh =
                    ReplicaSession.open(
                            db.url(), db.user(), pw, dialect, "p2", SchemaPolicy.STRICT)) {
                assertThatThrownBy(
                                () ->
                                        fresh.applyEach(
                                                List.of(
                                                        txn(11, 1100, insert(11, "p2")),
                                                        txn(12, 1200, insert(12, "p2")),
                                                        txn(13, 1300, update(99, "x"))),
                                                Lsn.ZERO,
                                                true,
                                                (t, nanos) -> {}))
                        .isInstanceOf(ApplyException.class)
                        .hasMessageContaining("xid 13");
            }
            try (ReplicaSession again =
                    ReplicaSession.open(
                            db.url(), db.user(), pw, dialect, "p2", SchemaPolicy.STRICT)) {
                again.claim();
                assertThat(again.appliedLsn()).isEqualTo(Lsn.of(1200));
            }

            // Another pipeline, "p10", commits last; p1's position is still its own.
            try (ReplicaSession other =
                    ReplicaSession.open(
                            db.url(), db.user(), pw, dialect, "p10", SchemaPolicy.STRICT)) {
                other.apply(txn(7, 700, insert(7, "seven")), Lsn.ZERO);
                assertThat(other.appliedLsn()).isEqualTo(Lsn.of(700));
            }
            assertThat(b.appliedLsn()).isEqualTo(Lsn.of(400));

            // Once a's connection ends (the server notices it a moment later), b takes over
            // where the replica is.
            a.close();
            org.awaitility.Awaitility.await("b takes the lock a held")
                    .atMost(java.time.Duration.ofSeconds(20))
                    .ignoreException(ConcurrentCommitterException.class)
                    .until(
                            () -> {
                                b.claim();
                                return true;
                            });
            assertThat(b.appliedLsn()).isEqualTo(Lsn.of(400));
            b.applyEach(
                    List.of(txn(8, 800, insert(8, "eight")), txn(9, 900, update(8, "ocho"))),
                    Lsn.of(400),
                    true,
                    (t, nanos) -> {});
            assertThat(progressRow(db)).isEqualTo("0/384");
            assertThat(b.appliedLsn()).isEqualTo(Lsn.of(900));
        } finally {
            a.close();
        }
        assertThat(db.rows("SELECT id, v FROM t ORDER BY id"))
                .containsExactly(
                        List.of("1", "uno"),
                        List.of("2", "two"),
                        List.of("4", "four"),
                        List.of("7", "seven"),
                        List.of("8", "ocho"),
                        List.of("11", "p2"),
                        List.of("12", "p2"));
        assertThat(db.value("SELECT count(*) FROM dolt_log WHERE message LIKE 'pgdolt: xid %'"))
                .isEqualTo("9");
    }

    private static String progressRow(Db db) throws Exception {
        return db.value("SELECT commit_lsn FROM pgdolt_progress WHERE pipeline_id = 'p1'");
    }
}
