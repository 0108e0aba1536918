package io.pgdolt.replica;

import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Doltgres replica: each source transaction ends with {@code dolt_commit}, which commits the open
 * SQL transaction and creates the Dolt commit atomically. The commit records the xid and commit LSN
 * in its message, the configured author, and the source commit time as its date.
 */
public final class DoltgresDialect implements ReplicaDialect {
    private static final long serialVersionUID = 1L;

    /** Dolt's {@code --date} takes whole seconds with a zone. */
    private static final DateTimeFormatter DOLT_DATE =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private final boolean commitPerTransaction;
    private final String author;

    /**
     * @param commitPerTransaction {@code behavior.dolt_transaction_commit}: when false, changes are
     *     committed as SQL transactions only and stay in the working set
     * @param author the {@code --author} of every commit, {@code Name <email>}
     */
    public DoltgresDialect(boolean commitPerTransaction, String author) {
        this.commitPerTransaction = commitPerTransaction;
        this.author = author;
    }

    @Override
    public String name() {
        return "doltgres";
    }

    /**
     * Doltgres 1.3 stores -0 as 0, and its array parser drops empty-string elements and mangles
     * escaped backslashes: such values are refused rather than changed.
     */
    @Override
    public boolean mayRefuse(String castType) {
        return castType.equals("float4")
                || castType.equals("float8")
                || castType.equals("date")
                || castType.endsWith("[]");
    }

    @Override
    public String refuse(String castType, String value) {
        if (value == null) {
            return null;
        }
        if ((castType.equals("float4") || castType.equals("float8"))
                && (value.equals("-0.0") || value.equals("-0"))) {
            return "Doltgres cannot store the floating-point value -0 (it becomes 0)";
        }
        if (castType.equals("date") && (value.equals("infinity") || value.equals("-infinity"))) {
            return "Doltgres cannot store the date " + value + " (it is out of its range)";
        }
        if (castType.endsWith("[]")
                && (value.contains("\\\\") || value.contains("{\"\"") || value.contains(",\"\""))) {
            return "Doltgres cannot parse array elements that are empty strings or contain"
                    + " backslashes";
        }
        return null;
    }

    @Override
    public String commit(Connection connection, SourceTransaction txn, String pipelineId)
            throws SQLException {
        if (!commitPerTransaction) {
            connection.commit();
            return null;
        }
        return doltCommit(connection, message(txn, pipelineId), txn.commitTime());
    }

    /** The initial snapshot (or a from-lsn start) is one Dolt commit of its own. */
    @Override
    public String commitStart(Connection connection, String message, java.time.Instant date)
            throws SQLException {
        if (!commitPerTransaction) {
            connection.commit();
            return null;
        }
        return doltCommit(connection, message, date);
    }

    private String doltCommit(Connection connection, String message, java.time.Instant date)
            throws SQLException {
        String hash;
        try (PreparedStatement ps =
                connection.prepareStatement(
                        "SELECT dolt_commit('-A', '-m', ?, '--author', ?, '--date', ?)")) {
            ps.setString(1, message);
            ps.setString(2, author);
            ps.setString(3, DOLT_DATE.format(date));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                hash = rs.getString(1);
            }
        }
        // dolt_commit committed the SQL transaction already; this ends the driver's view of it.
        connection.commit();
        return hash == null ? null : hash.replaceAll("[{}\"]", "");
    }

    /** First line names xid and LSN; the body says where the commit came from and what it holds. */
    static String message(SourceTransaction txn, String pipelineId) {
        Map<TableId, Integer> perTable = new TreeMap<>();
        for (RowChange c : txn.changes()) {
            perTable.merge(c.table(), 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder();
        sb.append("pgdolt: xid ")
                .append(txn.xid())
                .append(" at LSN ")
                .append(txn.commitLsn())
                .append("\n\nsource-commit-time: ")
                .append(txn.commitTime().truncatedTo(ChronoUnit.MICROS))
                .append("\npipeline: ")
                .append(pipelineId)
                .append("\nchanges: ")
                .append(txn.changes().size());
        perTable.forEach((t, n) -> sb.append("\n  ").append(t).append(": ").append(n));
        return sb.toString();
    }
}
