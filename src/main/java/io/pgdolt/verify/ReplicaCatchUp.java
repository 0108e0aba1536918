package io.pgdolt.verify;

import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.txn.Lsn;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Waits for the replica through the pipeline's progress row ({@code public.pgdolt_progress}): until
 * the commit LSN it has applied reaches the primary's current WAL position, or the wait's limit.
 * While the published tables are idle the progress row stays behind the WAL position (other writes
 * advance it), so then the wait lasts its whole limit. Not thread-safe.
 */
final class ReplicaCatchUp implements CatchUp, AutoCloseable {
    private static final Duration POLL = Duration.ofMillis(200);

    private final Connector primary;
    private final Connector replica;
    private final String pipelineId;
    private final PrintStream err;
    private Connection primaryConnection;
    private Connection replicaConnection;

    ReplicaCatchUp(Connector primary, Connector replica, String pipelineId, PrintStream err) {
        this.primary = primary;
        this.replica = replica;
        this.pipelineId = pipelineId;
        this.err = err;
    }

    /** The pipeline's progress row on the replica. */
    record Applied(Lsn commitLsn, long xid) {}

    @Override
    public void await(Duration max) throws SQLException, InterruptedException {
        if (max.isZero()) {
            return;
        }
        Lsn target = primaryLsn();
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            Applied applied = applied();
            if (applied != null && applied.commitLsn().compareTo(target) >= 0) {
                return;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                err.printf(
                        "pgdolt verify: after %s the replica has applied up to %s, the primary is"
                                + " at %s; rechecking%n",
                        max.toMillis() % 1000 == 0 ? max.toSeconds() + "s" : max.toMillis() + "ms",
                        applied == null ? "(no progress row)" : applied.commitLsn(),
                        target);
                return;
            }
            Thread.sleep(Math.min(POLL.toMillis(), Math.max(1, left / 1_000_000)));
        }
    }

    /** The primary's current WAL write position. */
    Lsn primaryLsn() throws SQLException {
        if (primaryConnection == null) {
            primaryConnection = primary.open();
        }
        try (PreparedStatement ps =
                        primaryConnection.prepareStatement("SELECT pg_current_wal_lsn()::text");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    /** The pipeline's progress row, or null when the replica has none (no job ran there). */
    Applied applied() throws SQLException {
        if (replicaConnection == null) {
            replicaConnection = replica.open();
        }
        try (PreparedStatement ps =
                replicaConnection.prepareStatement(
                        "SELECT 1 FROM information_schema.tables"
                                + " WHERE table_schema = ? AND table_name = ?")) {
            ps.setString(1, ReplicaSession.PROGRESS_TABLE.schema());
            ps.setString(2, ReplicaSession.PROGRESS_TABLE.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
            }
        }
        try (PreparedStatement ps =
                replicaConnection.prepareStatement(
                        "SELECT commit_lsn, xid FROM "
                                + ReplicaSession.PROGRESS_TABLE.quoted()
                                + " WHERE pipeline_id = ?")) {
            ps.setString(1, pipelineId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Applied(Lsn.parse(rs.getString(1)), rs.getLong(2)) : null;
            }
        }
    }

    /** One line on how far the replica is, for the report. */
    String describe() throws SQLException {
        Applied a = applied();
        if (a == null) {
            return "replica progress: no row for pipeline "
                    + pipelineId
                    + " in "
                    + ReplicaSession.PROGRESS_TABLE
                    + " (the replica was not written by this pipeline, or not yet)";
        }
        return "replica progress: pipeline "
                + pipelineId
                + " has applied the primary's transactions up to commit LSN "
                + a.commitLsn()
                + " (xid "
                + a.xid()
                + "); the primary is at "
                + primaryLsn();
    }

    @Override
    public void close() throws SQLException {
        SQLException failure = null;
        for (Connection c : new Connection[] {primaryConnection, replicaConnection}) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (SQLException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
