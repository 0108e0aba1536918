package io.pgdolt.replica;

import io.pgdolt.txn.Lsn;
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
     * Built-in scalar types, whose input Doltgres 1.3 infers from the column for a parameter of
     * unspecified type. Planning a cast at each bind is a measurable share of a transaction's cost
     * on Doltgres (about 4% of a TPC-B-like one). Domains, arrays, enums and the rest keep the
     * cast.
     */
    private static final java.util.Set<String> UNCAST =
            java.util.Set.of(
                    "int2",
                    "int4",
                    "int8",
                    "float4",
                    "float8",
                    "numeric",
                    "bool",
                    "text",
                    "varchar",
                    "bpchar",
                    "date",
                    "timestamp",
                    "timestamptz");

    @Override
    public java.util.Set<String> uncastTypes() {
        return UNCAST;
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
    public String commit(
            Connection connection,
            java.util.List<SourceTransaction> txns,
            Map<TableId, Long> perTable,
            String pipelineId)
            throws SQLException {
        if (!commitPerTransaction) {
            connection.commit();
            return null;
        }
        return doltCommit(
                connection,
                commitMessage(txns, perTable, pipelineId),
                txns.get(txns.size() - 1).commitTime());
    }

    /**
     * {@code dolt_commit}, which commits the SQL transaction with the Dolt commit, then a COMMIT
     * that ends the driver's view of the transaction (see {@link #doltCommit}).
     */
    @Override
    public java.util.List<Sql> commitStatements(
            java.util.List<SourceTransaction> txns,
            Map<TableId, Long> perTable,
            String pipelineId) {
        if (!commitPerTransaction) {
            return java.util.List.of(new Sql("COMMIT"));
        }
        String date = DOLT_DATE.format(txns.get(txns.size() - 1).commitTime());
        return java.util.List.of(
                new Sql(
                        DOLT_COMMIT,
                        java.util.List.of(commitMessage(txns, perTable, pipelineId), author, date)),
                new Sql("COMMIT"));
    }

    /** The message of the commit of {@code txns}: one transaction's, or a checkpoint's. */
    private static String commitMessage(
            java.util.List<SourceTransaction> txns,
            Map<TableId, Long> perTable,
            String pipelineId) {
        return txns.size() == 1
                ? message(txns.get(0), perTable, pipelineId)
                : message(txns, perTable, pipelineId);
    }

    private static final String DOLT_COMMIT =
            "SELECT dolt_commit('-A', '-m', ?, '--author', ?, '--date', ?)";

    /** Each source transaction is a Dolt commit whose message names its pipeline and LSN. */
    @Override
    public boolean recordsEachTransaction() {
        return commitPerTransaction;
    }

    /** Messages read from {@code dolt_log} per query, newest first. */
    private static final int LOG_PAGE = 64;

    /** A source transaction's commit: "pgdolt: xid N at LSN X/Y", or a checkpoint's "..X/Y". */
    private static final java.util.regex.Pattern APPLIED =
            java.util.regex.Pattern.compile(
                    "pgdolt: (?:xid \\d+|\\d+ transactions, xids \\d+\\.\\.\\d+) at LSN"
                            + " (?:[0-9A-Fa-f]+/[0-9A-Fa-f]+\\.\\.)?([0-9A-Fa-f]+/[0-9A-Fa-f]+)");

    /**
     * Walks the branch's {@code dolt_log} from its head to the newest commit whose message names
     * {@code pipelineId} on its {@code pipeline:} line: its commit LSN if it applied source
     * transactions, {@code null} if it is a starting point (an initial snapshot or a from-lsn
     * start, which the progress row records) or if there is none.
     */
    @Override
    public Lsn recordedLsn(Connection connection, String pipelineId) throws SQLException {
        String line = "\npipeline: " + pipelineId;
        try (PreparedStatement ps =
                connection.prepareStatement(
                        "SELECT message FROM dolt_log WHERE strpos(message, ?) > 0"
                                + " LIMIT "
                                + LOG_PAGE
                                + " OFFSET ?")) {
            for (int offset = 0; ; offset += LOG_PAGE) {
                ps.setString(1, line);
                ps.setInt(2, offset);
                int rows = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                        String message = rs.getString(1);
                        if (!namesPipeline(message, line)) {
                            continue; // Another pipeline whose id starts with this one.
                        }
                        return appliedLsn(message);
                    }
                }
                if (rows < LOG_PAGE) {
                    return null;
                }
            }
        }
    }

    /**
     * The commit LSN of the last source transaction a pgdolt commit message says it holds, or
     * {@code null} for any other message (a starting point's).
     */
    static Lsn appliedLsn(String message) {
        int end = message.indexOf('\n');
        java.util.regex.Matcher m = APPLIED.matcher(end < 0 ? message : message.substring(0, end));
        return m.matches() ? Lsn.parse(m.group(1)) : null;
    }

    /** Whether {@code message} has the line {@code line} (which starts with its newline). */
    static boolean namesPipeline(String message, String line) {
        for (int at = message.indexOf(line); at >= 0; at = message.indexOf(line, at + 1)) {
            int after = at + line.length();
            if (after == message.length() || message.charAt(after) == '\n') {
                return true;
            }
        }
        return false;
    }

    /** First line of the Dolt commit that lists pgdolt's own tables in {@code dolt_ignore}. */
    public static final String SETUP_COMMIT_PREFIX = "pgdolt setup: ";

    /**
     * Lists {@code table} in {@code dolt_ignore}: {@code dolt_commit -A} then never stages it, and
     * it stays in the working set. The pattern row is committed at once, alone, in a setup commit
     * of its own, so that no replicated transaction's commit carries it.
     */
    @Override
    public void excludeFromVersioning(Connection connection, String table) throws SQLException {
        try (PreparedStatement find =
                connection.prepareStatement("SELECT 1 FROM dolt_ignore WHERE pattern = ?")) {
            find.setString(1, table);
            try (ResultSet rs = find.executeQuery()) {
                if (rs.next()) {
                    return;
                }
            }
        }
        try (PreparedStatement insert =
                connection.prepareStatement("INSERT INTO dolt_ignore VALUES (?, true)")) {
            insert.setString(1, table);
            insert.executeUpdate();
        }
        if (!commitPerTransaction) {
            return; // Nothing is versioned by pgdolt: the row stays in the working set.
        }
        try (PreparedStatement add = connection.prepareStatement("SELECT dolt_add('dolt_ignore')");
                PreparedStatement commit =
                        connection.prepareStatement("SELECT dolt_commit('-m', ?, '--author', ?)")) {
            add.execute();
            commit.setString(
                    1, SETUP_COMMIT_PREFIX + "keep public." + table + " out of Dolt commits");
            commit.setString(2, author);
            commit.execute();
        }
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
        String hash = null;
        // dolt_commit commits the SQL transaction with the Dolt commit; the COMMIT in the same
        // round trip ends the driver's view of it (the driver then sees the session idle and its
        // own commit() sends nothing). On an error the COMMIT does not run.
        try (PreparedStatement ps = connection.prepareStatement(DOLT_COMMIT + ";\nCOMMIT")) {
            ps.setString(1, message);
            ps.setString(2, author);
            ps.setString(3, DOLT_DATE.format(date));
            boolean results = ps.execute();
            while (true) {
                if (results) {
                    try (ResultSet rs = ps.getResultSet()) {
                        if (hash == null && rs.next()) {
                            hash = rs.getString(1);
                        }
                    }
                } else if (ps.getUpdateCount() == -1) {
                    break;
                }
                results = ps.getMoreResults();
            }
        }
        connection.commit();
        return hash == null ? null : hash.replaceAll("[{}\"]", "");
    }

    /**
     * A checkpoint's commit: the first line gives the count and LSN range, the body every xid with
     * its commit LSN and time, in commit order.
     */
    static String message(java.util.List<SourceTransaction> txns, String pipelineId) {
        return message(txns, countPerTable(txns), pipelineId);
    }

    static String message(
            java.util.List<SourceTransaction> txns,
            Map<TableId, Long> perTable,
            String pipelineId) {
        SourceTransaction first = txns.get(0);
        SourceTransaction last = txns.get(txns.size() - 1);
        StringBuilder sb = new StringBuilder();
        sb.append("pgdolt: ")
                .append(txns.size())
                .append(" transactions, xids ")
                .append(first.xid())
                .append("..")
                .append(last.xid())
                .append(" at LSN ")
                .append(first.commitLsn())
                .append("..")
                .append(last.commitLsn());
        appendBody(sb, last, pipelineId, txns, perTable);
        sb.append("\ntransactions (xid, commit LSN, source commit time):");
        for (SourceTransaction t : txns) {
            sb.append("\n  ")
                    .append(t.xid())
                    .append(' ')
                    .append(t.commitLsn())
                    .append(' ')
                    .append(t.commitTime().truncatedTo(ChronoUnit.MICROS));
        }
        return sb.toString();
    }

    /** First line names xid and LSN; the body says where the commit came from and what it holds. */
    static String message(SourceTransaction txn, String pipelineId) {
        return message(txn, countPerTable(java.util.List.of(txn)), pipelineId);
    }

    static String message(SourceTransaction txn, Map<TableId, Long> perTable, String pipelineId) {
        StringBuilder sb = new StringBuilder();
        sb.append("pgdolt: xid ").append(txn.xid()).append(" at LSN ").append(txn.commitLsn());
        appendBody(sb, txn, pipelineId, java.util.List.of(txn), perTable);
        return sb.toString();
    }

    /** Row changes per table of inline transactions. */
    static Map<TableId, Long> countPerTable(java.util.List<SourceTransaction> txns) {
        Map<TableId, Long> perTable = new java.util.HashMap<>();
        for (SourceTransaction t : txns) {
            for (RowChange c : t.changes()) {
                perTable.merge(c.table(), 1L, Long::sum);
            }
        }
        return perTable;
    }

    /** Source commit time of {@code last}, pipeline, and the changes per table of {@code txns}. */
    private static void appendBody(
            StringBuilder sb,
            SourceTransaction last,
            String pipelineId,
            java.util.List<SourceTransaction> txns,
            Map<TableId, Long> perTable) {
        long changes = 0;
        for (SourceTransaction t : txns) {
            changes += t.changeCount();
        }
        sb.append("\n\nsource-commit-time: ")
                .append(last.commitTime().truncatedTo(ChronoUnit.MICROS))
                .append("\npipeline: ")
                .append(pipelineId)
                .append("\nchanges: ")
                .append(changes);
        new TreeMap<>(perTable)
                .forEach((t, n) -> sb.append("\n  ").append(t).append(": ").append(n));
    }
}
