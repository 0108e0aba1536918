package io.pgdolt.replica;

import io.pgdolt.txn.TableId;
import io.pgdolt.txn.TransactionChunk;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The replica's staging table: the chunks of source transactions too large to pass through
 * checkpoint state whole (see {@code TransactionAssembler}). The sink's writer stages each chunk as
 * it arrives, committed on its own; the committer reads them back one at a time inside the replica
 * transaction that applies the source transaction, and deletes them in that same transaction. On
 * Doltgres the table is listed in {@code dolt_ignore} before it is created, so no Dolt commit ever
 * holds it: it lives in the working set only.
 */
public final class StagingTable {
    public static final TableId TABLE = new TableId("public", "pgdolt_staging");

    /**
     * Creates the staging table. The job runs it when the table is missing; with a replica role
     * that may not create tables, an administrator runs it once.
     */
    public static final String DDL =
            "CREATE TABLE IF NOT EXISTS public.pgdolt_staging ("
                    + "pipeline_id varchar(100) NOT NULL,"
                    + " xid bigint NOT NULL,"
                    + " prev_lsn bigint NOT NULL,"
                    + " seq integer NOT NULL,"
                    + " payload bytea NOT NULL,"
                    + " PRIMARY KEY (pipeline_id, xid, prev_lsn, seq))";

    private static final String WHERE_TXN = " WHERE pipeline_id = ? AND xid = ? AND prev_lsn = ?";

    private StagingTable() {}

    /** Creates the table if it is missing (on Doltgres, first keeps it out of Dolt commits). */
    static void ensure(Connection c, ReplicaDialect dialect) throws SQLException {
        if (ReplicaSession.tableExists(c, TABLE)) {
            return;
        }
        dialect.excludeFromVersioning(c, TABLE.table());
        try (Statement st = c.createStatement()) {
            st.execute(DDL);
        }
    }

    /**
     * Stages {@code chunk} of pipeline {@code pipelineId}, replacing what an earlier attempt staged
     * under the same number, and commits. {@code c} must not be in autocommit mode.
     */
    public static void stage(Connection c, String pipelineId, TransactionChunk chunk)
            throws SQLException, java.io.IOException {
        byte[] payload = TransactionChunk.encode(chunk.changes());
        try (PreparedStatement delete =
                        c.prepareStatement(
                                "DELETE FROM public.pgdolt_staging" + WHERE_TXN + " AND seq = ?");
                PreparedStatement insert =
                        c.prepareStatement(
                                "INSERT INTO public.pgdolt_staging"
                                        + " (pipeline_id, xid, prev_lsn, seq, payload)"
                                        + " VALUES (?, ?, ?, ?, ?)")) {
            delete.setString(1, pipelineId);
            delete.setLong(2, chunk.xid());
            delete.setLong(3, chunk.prevCommitLsn());
            delete.setInt(4, chunk.seq());
            delete.executeUpdate();
            insert.setString(1, pipelineId);
            insert.setLong(2, chunk.xid());
            insert.setLong(3, chunk.prevCommitLsn());
            insert.setInt(4, chunk.seq());
            insert.setBytes(5, payload);
            insert.executeUpdate();
            c.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The payload of one staged chunk, or {@code null} if it is not there. */
    static byte[] read(Connection c, String pipelineId, long xid, long prevLsn, int seq)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT payload FROM public.pgdolt_staging" + WHERE_TXN + " AND seq = ?")) {
            ps.setString(1, pipelineId);
            ps.setLong(2, xid);
            ps.setLong(3, prevLsn);
            ps.setInt(4, seq);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBytes(1) : null;
            }
        }
    }

    /** Deletes every chunk staged for one transaction; returns how many there were. */
    static int delete(Connection c, String pipelineId, long xid, long prevLsn) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement("DELETE FROM public.pgdolt_staging" + WHERE_TXN)) {
            ps.setString(1, pipelineId);
            ps.setLong(2, xid);
            ps.setLong(3, prevLsn);
            return ps.executeUpdate();
        }
    }
}
