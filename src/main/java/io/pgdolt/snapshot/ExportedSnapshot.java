package io.pgdolt.snapshot;

import io.pgdolt.config.PipelineConfig;
import io.pgdolt.txn.Lsn;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A consistent view of the primary that lines up exactly with a WAL position: a temporary logical
 * replication slot created with {@code EXPORT_SNAPSHOT}, as PostgreSQL's own table synchronisation
 * does. Its snapshot holds exactly the transactions whose commit record precedes {@link
 * #consistentPoint()}; logical decoding from that point delivers exactly the others. Other
 * connections read the snapshot with {@code SET TRANSACTION SNAPSHOT} while this one stays open;
 * closing it drops the temporary slot.
 */
public final class ExportedSnapshot implements AutoCloseable {
    private final Connection replication;
    private final String slotName;
    private final Lsn consistentPoint;
    private final String snapshotName;

    private ExportedSnapshot(
            Connection replication, String slotName, Lsn consistentPoint, String snapshotName) {
        this.replication = replication;
        this.slotName = slotName;
        this.consistentPoint = consistentPoint;
        this.snapshotName = snapshotName;
    }

    /** Opens a replication connection to the primary and exports a snapshot from it. */
    public static ExportedSnapshot export(PipelineConfig.Primary p) throws SQLException {
        Properties props = p.jdbcProperties("pgdolt-snapshot");
        props.setProperty("replication", "database");
        props.setProperty("preferQueryMode", "simple");
        props.setProperty("assumeMinServerVersion", "10");
        String slot =
                ("pgdolt_snap_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36))
                        .toLowerCase(Locale.ROOT);
        Connection c = DriverManager.getConnection(p.jdbcUrl(), props);
        try (Statement st = c.createStatement();
                ResultSet rs =
                        st.executeQuery(
                                "CREATE_REPLICATION_SLOT "
                                        + slot
                                        + " TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT")) {
            rs.next();
            return new ExportedSnapshot(
                    c,
                    slot,
                    Lsn.parse(rs.getString("consistent_point")),
                    rs.getString("snapshot_name"));
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Every transaction whose commit record starts before this position is in the snapshot. */
    public Lsn consistentPoint() {
        return consistentPoint;
    }

    /** For {@code SET TRANSACTION SNAPSHOT}. */
    public String snapshotName() {
        return snapshotName;
    }

    public String slotName() {
        return slotName;
    }

    @Override
    public void close() {
        try {
            replication.close();
        } catch (SQLException ignored) {
            // The temporary slot goes with the session, however it ends.
        }
    }
}
