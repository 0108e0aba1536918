package io.pgdolt.replica;

import io.pgdolt.config.Secret;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import io.pgdolt.txn.TransactionChunk;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.postgresql.jdbc.StatementPipeline;

/**
 * One connection to the replica that applies source transactions, each as one replica transaction
 * holding its row changes and the pipeline's progress row, finished by the dialect's commit.
 *
 * <p>Statements are parameterised (every value bound as text and cast to the replica column's
 * type), identifiers quoted, and consecutive changes of the same shape sent as one JDBC batch.
 * UPDATE and DELETE must hit exactly one row: anything else means the replica has diverged, and the
 * apply fails rather than silently continuing.
 *
 * <p>Not thread-safe: used by the committer's single thread.
 */
public final class ReplicaSession implements AutoCloseable {
    /** Table recording, per pipeline, the last applied source transaction. */
    public static final TableId PROGRESS_TABLE = new TableId("public", "pgdolt_progress");

    private static final int MAX_BATCH = 1000;

    /** At most this many differently shaped statements share a round trip. */
    private static final int MAX_PIPELINED = 32;

    /**
     * At most this many small transactions commit in one round trip where the replica checks row
     * counts itself (see {@link ReplicaDialect#checkedOneRow}).
     */
    static final int MAX_GROUPED = 16;

    /** A transaction of more row changes than this is never grouped with others. */
    private static final int MAX_GROUPED_CHANGES = 16;

    /**
     * Prepared statements kept per session (Doltgres's multi-statement shapes included), and
     * statement shapes kept prepared by the PostgreSQL {@link StatementPipeline}.
     */
    private static final int MAX_CACHED_STATEMENTS = 512;

    /**
     * Creates the progress table. The job runs it when the table is missing; with a replica role
     * that may not create tables, an administrator runs it once.
     */
    public static final String PROGRESS_TABLE_DDL =
            "CREATE TABLE IF NOT EXISTS public.pgdolt_progress ("
                    + "pipeline_id varchar(100) PRIMARY KEY,"
                    + " commit_lsn varchar(20) NOT NULL,"
                    + " xid bigint NOT NULL,"
                    + " commit_time timestamptz NOT NULL,"
                    + " committer_id varchar(40) NOT NULL)";

    /**
     * The progress row's compare-and-set, sent in every applied transaction. Parameters: commit
     * LSN, xid, source commit time, committer id, pipeline id, and the commit LSN it must still
     * hold.
     */
    public static final String PROGRESS_UPDATE =
            "UPDATE "
                    + PROGRESS_TABLE.quoted()
                    + " SET commit_lsn = CAST(? AS varchar), xid = CAST(? AS int8),"
                    + " commit_time = CAST(? AS timestamptz), committer_id = CAST(? AS"
                    + " varchar) WHERE pipeline_id = CAST(? AS varchar) AND commit_lsn ="
                    + " CAST(? AS varchar)";

    /** {@code committer_id} of the progress row while an initial snapshot is loading. */
    static final String SNAPSHOT_MARKER = "snapshot-in-progress";

    private final Connection connection;
    private final ReplicaDialect dialect;
    private final String pipelineId;

    /** Identifies this session's writes in the progress row (see {@link #recordProgress}). */
    private final String committerId = java.util.UUID.randomUUID().toString();

    private final ColumnTypes columnTypes = new ColumnTypes();
    private final Map<String, PreparedStatement> statements =
            new java.util.LinkedHashMap<>(64, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, PreparedStatement> eldest) {
                    if (size() <= MAX_CACHED_STATEMENTS) {
                        return false;
                    }
                    try {
                        eldest.getValue().close();
                    } catch (SQLException ignored) {
                        // Only releases the server-side statement; the next use prepares anew.
                    }
                    return true;
                }
            };

    private final SchemaPolicy policy;

    /** Where the replica checks row counts itself (PostgreSQL): how a {@link Pipe} is sent. */
    private StatementPipeline pipeline;

    private ReplicaSession(
            Connection connection, ReplicaDialect dialect, String pipelineId, SchemaPolicy policy) {
        this.connection = connection;
        this.dialect = dialect;
        this.groupsCommits = dialect.checkedOneRow("DELETE FROM t") != null;
        this.lockFenced = dialect.recordsEachTransaction();
        this.pipelineId = pipelineId;
        this.policy = policy;
    }

    /** Connects, and creates the progress and staging tables if the replica has none yet. */
    public static ReplicaSession open(
            String url,
            String user,
            Secret password,
            ReplicaDialect dialect,
            String pipelineId,
            SchemaPolicy policy)
            throws SQLException {
        Connection c = connect(url, user, password, pipelineId, dialect);
        try {
            c.setAutoCommit(true);
            // Created only when missing: a least-privilege role may use the table an
            // administrator created, without the right to create tables.
            if (!tableExists(c, PROGRESS_TABLE)) {
                try (Statement st = c.createStatement()) {
                    st.execute(PROGRESS_TABLE_DDL);
                }
            }
            StagingTable.ensure(c, dialect);
            c.setAutoCommit(false);
            return new ReplicaSession(c, dialect, pipelineId, policy);
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Whether the replica has {@code table}. */
    static boolean tableExists(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT 1 FROM information_schema.tables"
                                + " WHERE table_schema = ? AND table_name = ?")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** A new connection to the replica, in autocommit mode. */
    public static Connection connect(String url, String user, Secret password, String pipelineId)
            throws SQLException {
        return connect(url, user, password, pipelineId, null);
    }

    /**
     * A new connection to the replica, in autocommit mode, set up for statements bound by {@code
     * dialect} (strings as parameters of unspecified type where it binds any uncast; see {@link
     * ReplicaDialect#uncastTypes}), or for none when null.
     */
    public static Connection connect(
            String url, String user, Secret password, String pipelineId, ReplicaDialect dialect)
            throws SQLException {
        Properties props = new Properties();
        if (dialect != null && !dialect.uncastTypes().isEmpty()) {
            props.setProperty("stringtype", "unspecified");
        }
        props.setProperty("user", user);
        props.setProperty("password", password.reveal());
        props.setProperty("ApplicationName", "pgdolt-" + pipelineId);
        props.setProperty("connectTimeout", "10");
        props.setProperty("socketTimeout", "300");
        props.setProperty("tcpKeepAlive", "true");
        return DriverManager.getConnection(url, props);
    }

    /**
     * The replica's record of this pipeline: {@code null} when it has none, else the commit LSN and
     * whether it marks an initial snapshot that did not finish.
     */
    public Progress progress() throws SQLException {
        Progress p = progressRow();
        if (lockFenced && p != null && !p.snapshotUnfinished()) {
            // The row moves once per run of transactions; each one's Dolt commit records it,
            // atomically with its data (see claim).
            Lsn recorded = dialect.recordedLsn(connection, pipelineId);
            if (recorded != null && recorded.isAfter(p.lsn())) {
                p = new Progress(recorded, false);
            }
        }
        connection.rollback();
        return p;
    }

    /** The progress row as it is, in the open transaction; {@code null} if there is none. */
    private Progress progressRow() throws SQLException {
        PreparedStatement ps =
                statement(
                        "SELECT commit_lsn, committer_id FROM "
                                + PROGRESS_TABLE.quoted()
                                + " WHERE pipeline_id = ?");
        ps.setString(1, pipelineId);
        try (ResultSet rs = ps.executeQuery()) {
            Progress p =
                    rs.next()
                            ? new Progress(
                                    Lsn.parse(rs.getString(1)),
                                    SNAPSHOT_MARKER.equals(rs.getString(2)))
                            : null;
            rowLsn = p == null ? Lsn.ZERO : p.lsn();
            return p;
        }
    }

    /**
     * Makes this session the pipeline's only committer, where the replica records each applied
     * transaction in its own history (Doltgres, one Dolt commit per source transaction): takes a
     * session-level advisory lock keyed by the database and the pipeline id, held until the
     * connection ends. Another session of the pipeline (a cancelled task that is still running, a
     * second job with the same id) cannot take it, so it cannot apply anything, and the holder need
     * not move the progress row in each transaction: the row moves in the last of each run of
     * transactions ({@link #applyEach}), and {@link #progress} reads the position from the newest
     * Dolt commit of the pipeline when that is further on. Elsewhere (PostgreSQL, or no Dolt
     * commits) the progress row's compare-and-set in every transaction is the fence, and this does
     * nothing. Read the position ({@link #appliedLsn}) after this, never before: until the lock is
     * held another committer may move it. Applying claims the lock if this was not called.
     *
     * @throws ConcurrentCommitterException if another session holds the lock (worth a retry: it is
     *     released when that session's connection ends)
     */
    public void claim() throws SQLException {
        if (!lockFenced || claimed) {
            return;
        }
        boolean got;
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
            ps.setLong(1, lockKey());
            try (ResultSet rs = ps.executeQuery()) {
                got = rs.next() && rs.getBoolean(1);
            }
        }
        // A session-level lock outlives the transaction the query opened.
        connection.rollback();
        if (!got) {
            throw new ConcurrentCommitterException(
                    "another committer of pipeline "
                            + pipelineId
                            + " holds its lock on the replica (a cancelled task that has not"
                            + " stopped yet, or a second job with the same pipeline.id); it is"
                            + " released when that committer's connection closes");
        }
        claimed = true;
        rowLsn = null;
    }

    /** The advisory lock of this pipeline in this database: a 64-bit hash of both names. */
    private long lockKey() throws SQLException {
        String name = "pgdolt/" + connection.getCatalog() + "/" + pipelineId;
        long h = 0xcbf29ce484222325L; // FNV-1a
        for (byte b : name.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** Whether {@link #claim} is the fence (see there). */
    private final boolean lockFenced;

    /** Whether this session holds the pipeline's lock on the replica. */
    private boolean claimed;

    /** In a lock-fenced session: the LSN the progress row holds, {@code null} until read. */
    private Lsn rowLsn;

    /** What the progress row holds now, read if not known (lock-fenced sessions). */
    private Lsn rowLsn() throws SQLException {
        if (rowLsn == null) {
            progressRow();
        }
        return rowLsn;
    }

    /**
     * A pipeline's progress row: everything committed on the primary at or before {@code lsn} is on
     * the replica, unless {@code snapshotUnfinished}.
     */
    public record Progress(Lsn lsn, boolean snapshotUnfinished) {}

    /** Whether {@code table} holds at least one row. */
    public boolean hasRows(TableId table) throws SQLException {
        try (Statement st = connection.createStatement();
                ResultSet rs = st.executeQuery("SELECT 1 FROM " + table.quoted() + " LIMIT 1")) {
            boolean any = rs.next();
            connection.rollback();
            return any;
        }
    }

    /**
     * Marks the start of an initial snapshot: from here until {@link #recordStart} the replica's
     * tables may hold part of it, and a new start empties them and begins again.
     */
    public void beginSnapshot() throws SQLException {
        writeStartRow(Lsn.ZERO, SNAPSHOT_MARKER);
        connection.commit();
    }

    /** Empties {@code tables}: the rows of a snapshot that did not finish. */
    public void truncate(Iterable<TableId> tables) throws SQLException {
        try (Statement st = connection.createStatement()) {
            for (TableId t : tables) {
                st.executeUpdate("TRUNCATE TABLE " + t.quoted());
            }
        }
        connection.commit();
    }

    /**
     * Records that the replica holds every primary transaction committed at or before {@code upTo},
     * and commits that (on Doltgres as one Dolt commit with {@code message}, together with
     * everything written since the last one: the snapshot's rows).
     *
     * @return the Dolt commit hash, or {@code null}
     */
    public String recordStart(Lsn upTo, String message, java.time.Instant time)
            throws SQLException {
        writeStartRow(upTo, committerId);
        PreparedStatement ps =
                statement(
                        "UPDATE "
                                + PROGRESS_TABLE.quoted()
                                + " SET commit_time = ?::timestamptz WHERE pipeline_id = ?");
        ps.setString(1, time.toString());
        ps.setString(2, pipelineId);
        ps.executeUpdate();
        return dialect.commitStart(connection, message, time);
    }

    /** Sets the progress row, which must be absent or at 0/0, to {@code lsn}. */
    private void writeStartRow(Lsn lsn, String committer) throws SQLException {
        PreparedStatement update =
                statement(
                        "UPDATE "
                                + PROGRESS_TABLE.quoted()
                                + " SET commit_lsn = ?, xid = 0, committer_id = ?"
                                + " WHERE pipeline_id = ? AND commit_lsn = ?");
        update.setString(1, lsn.toString());
        update.setString(2, committer);
        update.setString(3, pipelineId);
        update.setString(4, Lsn.ZERO.toString());
        if (update.executeUpdate() == 1) {
            return;
        }
        Progress now = progress();
        if (now != null && now.lsn().equals(lsn) && now.snapshotUnfinished() && lsn.isZero()) {
            // Already marked (Doltgres counts an UPDATE that changes nothing as 0 rows).
            return;
        }
        if (now != null) {
            throw new ConcurrentCommitterException(
                    "the replica's progress for pipeline "
                            + pipelineId
                            + " moved while its starting point was being recorded: another"
                            + " instance of this pipeline is running");
        }
        PreparedStatement insert =
                statement(
                        "INSERT INTO "
                                + PROGRESS_TABLE.quoted()
                                + " (pipeline_id, commit_lsn, xid, commit_time, committer_id)"
                                + " VALUES (?, ?, 0, now(), ?)");
        insert.setString(1, pipelineId);
        insert.setString(2, lsn.toString());
        insert.setString(3, committer);
        insert.executeUpdate();
    }

    /**
     * Checks, before anything is applied, that the replica can take the changes of the published
     * columns, creating missing tables if the policy says so (see {@link SchemaCheck}).
     *
     * @throws ReplicaSchemaException listing every problem
     */
    public void checkSchema(Map<TableId, TableDefinition> tables) throws SQLException {
        List<String> problems = SchemaCheck.problems(connection, tables, policy);
        connection.rollback();
        if (!problems.isEmpty()) {
            throw new ReplicaSchemaException(
                    "the replica cannot take the primary's changes:\n  - "
                            + String.join("\n  - ", problems));
        }
    }

    /** The commit LSN of the last transaction this pipeline applied, {@link Lsn#ZERO} if none. */
    public Lsn appliedLsn() throws SQLException {
        Progress p = progress();
        return p == null ? Lsn.ZERO : p.lsn();
    }

    /**
     * Applies {@code txn} atomically and commits it durably.
     *
     * @return the Dolt commit hash, or {@code null} on a replica without one
     */
    public String apply(SourceTransaction txn, Lsn previous) throws ApplyException {
        return apply(List.of(txn), previous, true);
    }

    /**
     * Applies {@code txns}, in commit order and all after {@code previous}, as one replica
     * transaction (on Doltgres one Dolt commit) with the progress row moved to the last of them.
     *
     * <p>Statements are pipelined: consecutive changes of one shape go as one JDBC batch, and runs
     * of differently shaped statements in one round trip (on PostgreSQL each prepared once per
     * session whatever the mix, see {@link StatementPipeline}; on Doltgres as one multi-statement
     * string); the row counts are checked before the commit.
     *
     * @param durable whether the commit must be durable before this returns. When false, a
     *     PostgreSQL replica acknowledges before flushing its log ({@code synchronous_commit off}):
     *     a crash of the replica may lose such commits, always a suffix of them together with the
     *     progress row that records them, so the caller must make a later commit durable (which
     *     flushes every earlier one) before it reports any of them committed.
     * @return the Dolt commit hash, or {@code null} on a replica without one
     */
    public String apply(List<SourceTransaction> txns, Lsn previous, boolean durable)
            throws ApplyException {
        try {
            return applyOnce(txns, previous, durable, MAX_PIPELINED, null, false).hash;
        } catch (ApplyException e) {
            if (e.isTransient() || !ambiguousFailure) {
                throw e;
            }
            // A statement of a multi-statement round trip failed, and the server does not say
            // which: everything was rolled back; go again one statement at a time, so the error
            // names the statement (or, if the failure does not repeat, the transactions apply).
            return applyOnce(txns, previous, durable, 1, null, false).hash;
        }
    }

    /** Told of each transaction once the replica has committed it, in commit order. */
    @FunctionalInterface
    public interface Committed {
        /**
         * @param nanos how long its commit took, statements included; transactions that committed
         *     in one round trip share its time evenly
         */
        void committed(SourceTransaction txn, long nanos);
    }

    /** Reports commits to a {@link Committed}, timing each from the one before. */
    private static final class Reporter {
        private final Committed to;
        private long since = System.nanoTime();

        Reporter(Committed to) {
            this.to = to;
        }

        void one(SourceTransaction txn) {
            long now = System.nanoTime();
            to.committed(txn, now - since);
            since = now;
        }

        /** {@code txns}, committed together: the time since the last report is split. */
        void together(List<SourceTransaction> txns) {
            long now = System.nanoTime();
            long share = (now - since) / Math.max(1, txns.size());
            for (SourceTransaction t : txns) {
                to.committed(t, share);
            }
            since = now;
        }
    }

    /**
     * Applies each of {@code txns} (in commit order, all after {@code previous}) as a replica
     * transaction of its own, as {@link #apply(SourceTransaction, Lsn)} would one by one, in about
     * half the round trips: a transaction's commit goes to the replica in the same round trip as
     * the next transaction's statements. It is sent only once the transaction's row counts have
     * been checked, so a transaction the replica disagrees with is never committed. Transactions
     * with schema changes or staged chunks commit on their own. Where the replica checks row counts
     * itself (PostgreSQL), runs of small transactions commit up to {@link #MAX_GROUPED} to a round
     * trip (see {@link #applyGroup}).
     *
     * @param durable whether the last commit must be durable before this returns (see {@link
     *     #apply(List, Lsn, boolean)}); earlier ones need not be
     * @param committed told of each transaction once the replica has committed it, in order
     * @throws ApplyException as {@link #apply(List, Lsn, boolean)}; the transactions reported
     *     committed before it stay committed
     */
    public void applyEach(
            List<SourceTransaction> txns, Lsn previous, boolean durable, Committed committed)
            throws ApplyException {
        Reporter report = new Reporter(committed);
        Lsn prev = previous;
        Carried carried = null;
        int k = 0;
        boolean grouped = false;
        int groupEnd = 0;
        try {
            for (; k < txns.size(); k++) {
                SourceTransaction txn = txns.get(k);
                boolean last = k == txns.size() - 1;
                int end = k;
                while (end < txns.size() && end - k < MAX_GROUPED && groupable(txns.get(end))) {
                    end++;
                }
                if (end - k > 1) {
                    // Several small transactions, each committed in the same round trip after
                    // the replica has checked its row counts.
                    List<SourceTransaction> group = txns.subList(k, end);
                    grouped = true;
                    groupEnd = end;
                    applyGroup(carried, group, prev, durable && end == txns.size());
                    grouped = false;
                    List<SourceTransaction> done = new ArrayList<>(group.size() + 1);
                    if (carried != null) {
                        done.add(carried.txn);
                        carried = null;
                    }
                    done.addAll(group);
                    report.together(done);
                    prev = group.get(group.size() - 1).commitLsn();
                    k = end - 1;
                    continue;
                }
                boolean carriable = !txn.isStaged() && !hasSchemaChanges(txn);
                if (carried != null && !carriable) {
                    commitCarried(carried);
                    report.one(carried.txn);
                    carried = null;
                }
                boolean leaveOpen = !last && carriable;
                Applied a =
                        applyOnce(
                                List.of(txn),
                                prev,
                                durable && last,
                                MAX_PIPELINED,
                                carried,
                                leaveOpen);
                if (carried != null) {
                    report.one(carried.txn);
                    carried = null;
                }
                if (leaveOpen) {
                    carried =
                            new Carried(
                                    txn,
                                    dialect.commitStatements(List.of(txn), a.perTable, pipelineId));
                } else {
                    report.one(txn);
                }
                prev = txn.commitLsn();
            }
        } catch (ApplyException e) {
            if (e.isTransient()) {
                // The caller connects again and reads the progress row.
                throw e;
            }
            // Go on one transaction at a time from the first one the replica does not hold, so
            // that a failure names its statement (or, if it does not repeat, the rest applies).
            int from = k;
            if (carried != null || grouped) {
                // The round trip may have committed its first transactions: the progress row
                // says up to where.
                Lsn held;
                try {
                    held = appliedLsn();
                } catch (SQLException readFailure) {
                    e.addSuppressed(readFailure);
                    throw e;
                }
                // Only the transactions of that round trip, and only where the row names one of
                // them (another committer may have moved it anywhere).
                int base = carried != null ? k - 1 : k;
                int limit = grouped ? groupEnd : k;
                int match = -1;
                for (int i = base; i < limit; i++) {
                    if (txns.get(i).commitLsn().equals(held)) {
                        match = i;
                    }
                }
                if (match >= base) {
                    report.together(txns.subList(base, match + 1));
                }
                from = match >= 0 ? match + 1 : base;
            }
            prev = from == 0 ? previous : txns.get(from - 1).commitLsn();
            for (int i = from; i < txns.size(); i++) {
                SourceTransaction txn = txns.get(i);
                try {
                    apply(List.of(txn), prev, durable && i == txns.size() - 1);
                } catch (ApplyException failure) {
                    if (lockFenced && !failure.isTransient() && i > 0) {
                        // The job stops here: leave the row at the last committed transaction,
                        // where anyone reading it expects the replica to be.
                        catchUpRow(txns.get(i - 1), failure);
                    }
                    throw failure;
                }
                report.one(txn);
                prev = txn.commitLsn();
            }
        }
    }

    /**
     * Whether {@code txn} may commit in a round trip with others: the dialect checks row counts on
     * the replica, and it is a few plain row changes (no schema change, TRUNCATE, staged chunks or
     * keyless table), applied one statement each.
     */
    private boolean groupable(SourceTransaction txn) {
        if (!groupsCommits || txn.isStaged() || txn.changes().size() > MAX_GROUPED_CHANGES) {
            return false;
        }
        for (RowChange c : txn.changes()) {
            RowChange.Op op = c.op();
            if (c.fullRowKey()
                    || (op != RowChange.Op.INSERT
                            && op != RowChange.Op.UPDATE
                            && op != RowChange.Op.DELETE)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Applies and commits each of {@code group} (after {@code carried}'s commit, if any) in one
     * round trip. Every statement that must change one row is sent as the dialect's checked form,
     * and the progress update too, so a transaction the replica disagrees with fails before its
     * COMMIT: the transactions before it stay committed, it and those after it are not applied.
     *
     * @param durableLast whether the last commit must be durable before this returns
     */
    private void applyGroup(
            Carried carried, List<SourceTransaction> group, Lsn previous, boolean durableLast)
            throws ApplyException {
        ambiguousFailure = false;
        Pipe pipe = new Pipe(Integer.MAX_VALUE);
        At at = new At(group.get(0));
        try {
            if (carried != null) {
                addCommit(pipe, carried);
            }
            Lsn prev = previous;
            for (int i = 0; i < group.size(); i++) {
                SourceTransaction txn = group.get(i);
                at.set(txn, null, null);
                if (carried != null || i > 0) {
                    // (Before the first, the driver opens the transaction itself.)
                    pipe.add(txn, null, null, new Bound("BEGIN", List.of()));
                }
                for (String statement :
                        dialect.beginStatements(durableLast && i == group.size() - 1)) {
                    pipe.add(txn, null, null, new Bound(statement, List.of()));
                }
                pipe.add(txn, null, null, checked(progressUpdate(txn, prev)));
                Map<TableId, Long> perTable = new java.util.HashMap<>();
                for (RowChange c : txn.changes()) {
                    at.table = c.table();
                    perTable.merge(c.table(), 1L, Long::sum);
                    Bound bound = bind(c);
                    at.sql = bound.sql;
                    // An INSERT changes its row or fails.
                    pipe.add(
                            txn,
                            null,
                            c.table(),
                            c.op() == RowChange.Op.INSERT ? bound : checked(bound));
                }
                for (ReplicaDialect.Sql c :
                        dialect.commitStatements(List.of(txn), perTable, pipelineId)) {
                    pipe.add(txn, null, null, new Bound(c.text(), c.params()));
                }
                prev = txn.commitLsn();
            }
            at.set(group.get(group.size() - 1), null, null);
            pipe.flush();
        } catch (PipeException e) {
            rollbackQuietly(e.getCause());
            ambiguousFailure = true;
            throw new ApplyException(e.txn, e.table, e.sql, e.getCause());
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(e);
            throw new ApplyException(at.txn, at.table, at.sql, e);
        }
    }

    private Bound checked(Bound bound) {
        // Keyed by identity: the texts come from templates and constants, built once.
        String text = checkedTexts.get(bound.sql);
        if (text == null) {
            text = dialect.checkedOneRow(bound.sql);
            if (checkedTexts.size() >= MAX_TEMPLATES) {
                checkedTexts.clear();
            }
            checkedTexts.put(bound.sql, text);
        }
        return new Bound(text, bound.values);
    }

    private final Map<String, String> checkedTexts = new IdentityHashMap<>();

    /** A transaction applied and checked whose commit statements are still to be sent. */
    private record Carried(SourceTransaction txn, List<ReplicaDialect.Sql> commit) {}

    /** What {@link #applyOnce} did: the Dolt commit hash, and the row changes per table. */
    private record Applied(String hash, Map<TableId, Long> perTable) {}

    private static boolean hasSchemaChanges(SourceTransaction txn) {
        for (RowChange c : txn.changes()) {
            if (!c.op().isRow()) {
                return true;
            }
        }
        return false;
    }

    /** Sends {@code carried}'s commit in a round trip of its own. */
    private void commitCarried(Carried carried) throws ApplyException {
        Pipe pipe = new Pipe(MAX_PIPELINED);
        try {
            addCommit(pipe, carried);
            pipe.flush();
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(e);
            throw new ApplyException(carried.txn, null, "commit", e);
        }
    }

    private void addCommit(Pipe pipe, Carried carried) throws SQLException {
        for (ReplicaDialect.Sql c : carried.commit) {
            pipe.add(carried.txn, null, null, new Bound(c.text(), c.params()));
        }
    }

    /** Whether the dialect checks row counts on the replica (see {@link #applyGroup}). */
    private final boolean groupsCommits;

    /** Whether the last failure came from a round trip of several statements. */
    private boolean ambiguousFailure;

    /**
     * @param carried a transaction whose commit goes first, in the same round trip (its transaction
     *     is open, and it has no schema changes to make)
     * @param leaveOpen whether to leave the replica transaction open, checked but not committed
     */
    private Applied applyOnce(
            List<SourceTransaction> txns,
            Lsn previous,
            boolean durable,
            int pipelined,
            Carried carried,
            boolean leaveOpen)
            throws ApplyException {
        ambiguousFailure = false;
        Pipe pipe = new Pipe(pipelined);
        At at = new At(txns.get(0));
        try {
            claim(); // Before anything is written, schema changes included.
            // Schema changes first, each committed on its own: Doltgres commits the open
            // transaction at DDL, so DDL inside it would break atomicity. Each is idempotent, so
            // a retry after a failure further on finds it done.
            for (SourceTransaction txn : txns) {
                at.txn = txn;
                for (RowChange c : txn.isStaged() ? txn.staged().schemaChanges() : txn.changes()) {
                    if (!c.op().isRow()) {
                        at.table = c.table();
                        at.sql = prepareSchema(c);
                    }
                }
            }
            at.set(txns.get(0), null, null);
            // Where the fence is the lock, a transaction left open for the next to commit is
            // recorded by its Dolt commit alone; the progress row moves at the end of the run.
            // Not before the row exists: the pipeline's history counts only once it does.
            boolean movesRow = !(lockFenced && leaveOpen && !rowLsn().isZero());
            if (carried != null) {
                // The commit, then a new transaction, in the round trip with its first statements.
                addCommit(pipe, carried);
                pipe.add(at.txn, null, null, new Bound("BEGIN", List.of()));
            }
            for (String statement : dialect.beginStatements(durable)) {
                pipe.add(at.txn, null, null, new Bound(statement, List.of()));
            }
            // The progress row first: a second committer of this pipeline fails on it (on
            // PostgreSQL its row lock also serializes the two); it is checked before the commit.
            SourceTransaction last = txns.get(txns.size() - 1);
            if (movesRow) {
                pipe.add(
                        last,
                        null,
                        PROGRESS_TABLE,
                        progressUpdate(last, lockFenced ? rowLsn() : previous));
            }
            Map<TableId, Long> perTable = new java.util.HashMap<>();
            int i = 0;
            while (i < txns.size()) {
                if (txns.get(i).isStaged()) {
                    applyStaged(txns.get(i), pipe, pipelined, at, perTable);
                    i++;
                    continue;
                }
                int j = i;
                while (j < txns.size() && !txns.get(j).isStaged()) {
                    j++;
                }
                applyRun(txns.subList(i, j), pipe, pipelined, at, perTable);
                i = j;
            }
            at.set(last, null, null);
            pipe.flush();
            if (lockFenced && movesRow) {
                // Checked; should this transaction not commit, the rollback forgets it.
                rowLsn = last.commitLsn();
            }
            if (leaveOpen) {
                return new Applied(null, perTable);
            }
            at.sql = "commit";
            return new Applied(dialect.commit(connection, txns, perTable, pipelineId), perTable);
        } catch (PipeException e) {
            rollbackQuietly(e.getCause());
            ambiguousFailure = e.ambiguous;
            throw new ApplyException(e.txn, e.table, e.sql, e.getCause());
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(e);
            throw new ApplyException(at.txn, at.table, at.sql, e);
        }
    }

    /** Where an apply is, for its error message. */
    private static final class At {
        SourceTransaction txn;
        TableId table;
        String sql;

        At(SourceTransaction txn) {
            this.txn = txn;
        }

        void set(SourceTransaction txn, TableId table, String sql) {
            this.txn = txn;
            this.table = table;
            this.sql = sql;
        }
    }

    /** Applies consecutive inline transactions' changes into the open replica transaction. */
    private void applyRun(
            List<SourceTransaction> run,
            Pipe pipe,
            int pipelined,
            At at,
            Map<TableId, Long> perTable)
            throws SQLException {
        for (SourceTransaction txn : run) {
            for (RowChange c : txn.changes()) {
                perTable.merge(c.table(), 1L, Long::sum);
            }
        }
        if (pipelined > 1 && netWorthIt(run)) {
            // Net changes per key, several rows per statement (see applyNetChanges).
            applyNetChanges(run, pipe);
            return;
        }
        for (SourceTransaction txn : run) {
            at.set(txn, null, null);
            List<RowChange> changes = txn.changes();
            int i = 0;
            while (i < changes.size()) {
                RowChange first = changes.get(i);
                at.table = first.table();
                if (!first.op().isRow()) {
                    pipe.flush();
                    at.sql = fillAddedColumn(first);
                    i++;
                    continue;
                }
                if (first.op() == RowChange.Op.TRUNCATE || first.fullRowKey()) {
                    pipe.flush();
                    at.sql = applyAlone(first);
                    i++;
                    continue;
                }
                Bound bound = bind(first);
                at.sql = bound.sql;
                Bound second = i + 1 < changes.size() ? batchable(changes.get(i + 1)) : null;
                if (second == null || !second.sql.equals(bound.sql)) {
                    pipe.add(txn, first, first.table(), bound);
                    i++;
                    continue;
                }
                pipe.flush();
                i = executeRun(changes, i, bound, second);
            }
        }
    }

    /**
     * Applies a staged transaction into the open replica transaction: its chunks are read back from
     * the staging table one at a time (memory holds one chunk, whatever the transaction's size) and
     * applied in order, then deleted in the same transaction. A missing or unreadable chunk fails
     * the transaction; it is not retried, since it would fail again.
     */
    private void applyStaged(
            SourceTransaction txn, Pipe pipe, int pipelined, At at, Map<TableId, Long> perTable)
            throws SQLException {
        SourceTransaction.Staged staged = txn.staged();
        long applied = 0;
        for (int seq = 0; seq < staged.chunks(); seq++) {
            at.set(txn, StagingTable.TABLE, "reading staged chunk " + seq);
            pipe.flush();
            byte[] payload =
                    StagingTable.read(
                            connection, pipelineId, txn.xid(), staged.prevCommitLsn(), seq);
            if (payload == null) {
                throw new SQLException(
                        "chunk "
                                + seq
                                + " of the "
                                + staged.chunks()
                                + " chunks of the staged transaction is missing from "
                                + StagingTable.TABLE
                                + " (was the table cleared while the job ran?)",
                        "XX000");
            }
            List<RowChange> chunk;
            try {
                chunk = TransactionChunk.decode(payload);
            } catch (java.io.IOException e) {
                // No cause: an IOException in the chain would count as transient.
                throw new SQLException(
                        "staged chunk " + seq + " cannot be read: " + e.getMessage(), "XX001");
            }
            applied += chunk.size();
            applyRun(List.of(txn.withChanges(chunk)), pipe, pipelined, at, perTable);
            at.set(txn, null, null);
        }
        pipe.flush();
        if (applied != staged.changeCount()) {
            throw new SQLException(
                    "the staged chunks hold "
                            + applied
                            + " changes, the transaction has "
                            + staged.changeCount(),
                    "XX001");
        }
        at.set(txn, StagingTable.TABLE, "deleting the staged chunks");
        StagingTable.delete(connection, pipelineId, txn.xid(), staged.prevCommitLsn());
        at.set(txn, null, null);
    }

    /**
     * Deletes what is staged for {@code txn}, which the replica already holds (a restore replayed
     * and staged it again), in a transaction of its own.
     */
    public void discardStaged(SourceTransaction txn) throws SQLException {
        if (!txn.isStaged()) {
            return;
        }
        try {
            StagingTable.delete(connection, pipelineId, txn.xid(), txn.staged().prevCommitLsn());
            connection.commit();
        } catch (SQLException e) {
            rollbackQuietly(e);
            throw e;
        }
    }

    /**
     * Moves the progress row, in a transaction of its own, to {@code last} if that is where the
     * replica is (its Dolt commit says so) and the row is behind it (lock-fenced sessions).
     * Failures are added to {@code failure}.
     */
    private void catchUpRow(SourceTransaction last, Exception failure) {
        try {
            if (!claimed || !appliedLsn().equals(last.commitLsn())) {
                return;
            }
            Lsn row = rowLsn();
            if (row.isZero() || !last.commitLsn().isAfter(row)) {
                return;
            }
            if (execute(progressUpdate(last, row)) == 1) {
                connection.commit();
                rowLsn = last.commitLsn();
            } else {
                connection.rollback();
                rowLsn = null;
            }
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(e);
            failure.addSuppressed(e);
        }
    }

    private void rollbackQuietly(Throwable failure) {
        rowLsn = null; // Read again: the round trip may have committed a move of the row.
        try {
            connection.rollback();
        } catch (SQLException rollbackFailure) {
            failure.addSuppressed(rollbackFailure);
        }
    }

    /** A table's changes at least this long are applied as net changes, many rows a statement. */
    private static final int NET_MIN = 8;

    /** Rows per multi-row statement; also keeps the parameters under the protocol's 32767. */
    private static final int NET_ROWS = 500;

    /** Whether the replica has foreign keys (then changes keep their order across tables). */
    private Boolean replicaHasForeignKeys;

    /** Whether some table gets enough changes in {@code txns} for net changes to pay. */
    private boolean netWorthIt(List<SourceTransaction> txns) throws SQLException {
        Map<TableId, Integer> perTable = new java.util.HashMap<>();
        for (SourceTransaction t : txns) {
            for (RowChange c : t.changes()) {
                if (perTable.merge(c.table(), 1, Integer::sum) >= NET_MIN) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean mayReorderTables() throws SQLException {
        if (replicaHasForeignKeys == null) {
            try (Statement st = connection.createStatement();
                    ResultSet rs =
                            st.executeQuery(
                                    "SELECT count(*) FROM information_schema.table_constraints"
                                            + " WHERE constraint_type = 'FOREIGN KEY'")) {
                rs.next();
                replicaHasForeignKeys = rs.getLong(1) > 0;
            }
        }
        return !replicaHasForeignKeys;
    }

    /** One change of the applied group, with the source transaction it belongs to. */
    record Item(SourceTransaction txn, RowChange change) {}

    /**
     * Applies {@code txns}' changes (all in this one replica transaction) as net changes: for each
     * table, the keys its changes touch are deleted once (the count proving that every UPDATE and
     * DELETE found its row) and their final rows inserted, many rows per statement. The end state
     * is the one the changes produce in order; the replica cannot tell, since it sees only the
     * commit. Without foreign keys on the replica, tables are taken one after another; with them,
     * only consecutive changes of one table are merged. TRUNCATE, column fills, keyless tables and
     * UPDATEs whose unchanged TOASTed values are not known here are applied one by one, in order.
     *
     * <p>A failure is reported as ambiguous: {@link #apply} then goes again statement by statement,
     * so that the error names the statement and the transaction.
     */
    private void applyNetChanges(List<SourceTransaction> txns, Pipe pipe) throws SQLException {
        boolean reorder = mayReorderTables();
        Map<TableId, List<Item>> segment = new java.util.LinkedHashMap<>();
        TableId lastTable = null;
        for (SourceTransaction txn : txns) {
            for (RowChange c : txn.changes()) {
                boolean barrier =
                        !c.op().isRow() || c.op() == RowChange.Op.TRUNCATE || c.fullRowKey();
                if (barrier) {
                    applySegment(segment, pipe);
                    lastTable = null;
                    try {
                        pipe.flush();
                        if (!c.op().isRow()) {
                            fillAddedColumn(c);
                        } else {
                            applyAlone(c);
                        }
                    } catch (SQLException e) {
                        throw new PipeException(new Entry(txn, c, c.table(), NO_BOUND), e, true);
                    }
                    continue;
                }
                if (!reorder && lastTable != null && !lastTable.equals(c.table())) {
                    applySegment(segment, pipe);
                }
                segment.computeIfAbsent(c.table(), t -> new ArrayList<>()).add(new Item(txn, c));
                lastTable = c.table();
            }
        }
        applySegment(segment, pipe);
    }

    private static final Bound NO_BOUND = new Bound("net changes", List.of());

    private void applySegment(Map<TableId, List<Item>> segment, Pipe pipe) throws SQLException {
        for (Map.Entry<TableId, List<Item>> e : segment.entrySet()) {
            List<Item> items = e.getValue();
            NetRows net = items.size() >= NET_MIN ? NetRows.of(items) : null;
            if (net == null) {
                for (Item item : items) {
                    pipe.add(item.txn, item.change, item.change.table(), bind(item.change));
                }
                continue;
            }
            pipe.flush();
            Item last = items.get(items.size() - 1);
            String sql = null;
            try {
                sql = deleteKeys(e.getKey(), net);
                sql = insertRows(e.getKey(), net);
            } catch (SQLException failure) {
                throw new PipeException(
                        new Entry(last.txn, last.change, e.getKey(), new Bound(sql, List.of())),
                        failure,
                        true);
            }
        }
        segment.clear();
    }

    /**
     * The net effect of one table's changes, in order: per key, whether the row existed before them
     * (UPDATE or DELETE came first) and its final row (null: deleted).
     */
    static final class NetRows {
        final String[] keyColumns;
        final String[] columns;
        final Map<List<String>, boolean[]> existed = new java.util.LinkedHashMap<>();
        final Map<List<String>, String[]> rows = new java.util.LinkedHashMap<>();

        private NetRows(String[] keyColumns, String[] columns) {
            this.keyColumns = keyColumns;
            this.columns = columns;
        }

        /**
         * The net rows, or null when they cannot be had here (the changes then apply one by one):
         * different column lists or keys, or an UPDATE whose unchanged TOASTed values come from
         * before these changes.
         */
        static NetRows of(List<Item> items) {
            // An INSERT carries no key columns of its own (its key is in its values): the key
            // comes from the first UPDATE or DELETE. Without one, every INSERT is a row of its
            // own, in order: the replica's own keys then judge duplicates, as one by one.
            String[] keyColumns = new String[0];
            String[] columns = new String[0];
            for (Item item : items) {
                if (item.change.op() != RowChange.Op.INSERT && keyColumns.length == 0) {
                    keyColumns = item.change.keyColumns();
                }
                if (item.change.op() != RowChange.Op.DELETE && columns.length == 0) {
                    columns = item.change.columns();
                }
            }
            NetRows n = new NetRows(keyColumns, columns);
            int[] keyAt = new int[n.keyColumns.length];
            if (columns.length > 0) {
                for (int k = 0; k < keyAt.length; k++) {
                    keyAt[k] = java.util.Arrays.asList(n.columns).indexOf(n.keyColumns[k]);
                    if (keyAt[k] < 0) {
                        return null;
                    }
                }
            }
            boolean insertsOnly = keyColumns.length == 0;
            int position = 0;
            for (Item item : items) {
                RowChange c = item.change;
                boolean insert = c.op() == RowChange.Op.INSERT;
                if ((!insert && !java.util.Arrays.equals(c.keyColumns(), n.keyColumns))
                        || (insert
                                && c.keyColumns().length > 0
                                && !java.util.Arrays.equals(c.keyColumns(), n.keyColumns))
                        || (c.op() != RowChange.Op.DELETE
                                && !java.util.Arrays.equals(c.columns(), n.columns))) {
                    return null;
                }
                if (insertsOnly) {
                    if (hasUnchanged(c.values())) {
                        return null;
                    }
                    List<String> slot = List.of("#" + position++);
                    n.touch(slot, false);
                    n.rows.put(slot, c.values().clone());
                    continue;
                }
                if (!n.apply(c, keyAt)) {
                    return null;
                }
            }
            return n;
        }

        private boolean apply(RowChange c, int[] keyAt) {
            switch (c.op()) {
                case INSERT:
                    {
                        String[] keyValues = new String[keyAt.length];
                        for (int k = 0; k < keyAt.length; k++) {
                            keyValues[k] = c.values()[keyAt[k]];
                        }
                        List<String> key = List.of(keyValues);
                        touch(key, false);
                        if (rows.get(key) != null) {
                            return false; // a second INSERT of a live key: let the replica say so
                        }
                        if (hasUnchanged(c.values())) {
                            return false;
                        }
                        rows.put(key, c.values().clone());
                        return true;
                    }
                case DELETE:
                    {
                        List<String> key = List.of(c.keyValues());
                        boolean known = rows.containsKey(key);
                        touch(key, true);
                        if (known && rows.get(key) == null) {
                            return false; // deleting a deleted row: let the replica say so
                        }
                        rows.put(key, null);
                        return true;
                    }
                case UPDATE:
                    {
                        List<String> oldKey = List.of(c.keyValues());
                        boolean known = rows.containsKey(oldKey);
                        String[] base = rows.get(oldKey);
                        if (known && base == null) {
                            return false;
                        }
                        String[] row = c.values().clone();
                        for (int k = 0; k < row.length; k++) {
                            if (RowChange.isUnchanged(row[k])) {
                                if (base == null) {
                                    return false; // the value is only on the replica
                                }
                                row[k] = base[k];
                            }
                        }
                        touch(oldKey, true);
                        String[] newKeyValues = new String[keyAt.length];
                        for (int k = 0; k < keyAt.length; k++) {
                            newKeyValues[k] = row[keyAt[k]];
                        }
                        List<String> newKey = List.of(newKeyValues);
                        if (!newKey.equals(oldKey)) {
                            rows.put(oldKey, null);
                            touch(newKey, false);
                            if (rows.get(newKey) != null) {
                                return false;
                            }
                        }
                        rows.put(newKey, row);
                        return true;
                    }
                default:
                    return false;
            }
        }

        /** Records whether {@code key} existed before these changes, on its first change. */
        private void touch(List<String> key, boolean existedBefore) {
            existed.putIfAbsent(key, new boolean[] {existedBefore});
        }

        private static boolean hasUnchanged(String[] values) {
            for (String v : values) {
                if (RowChange.isUnchanged(v)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Deletes every key that existed before the changes; all must be there. */
    private String deleteKeys(TableId t, NetRows net) throws SQLException {
        List<List<String>> keys = new ArrayList<>();
        for (Map.Entry<List<String>, boolean[]> e : net.existed.entrySet()) {
            if (e.getValue()[0]) {
                keys.add(e.getKey());
            }
        }
        String sql = null;
        for (int from = 0; from < keys.size(); from += NET_ROWS) {
            List<List<String>> chunk = keys.subList(from, Math.min(keys.size(), from + NET_ROWS));
            StringBuilder b =
                    new StringBuilder("DELETE FROM ").append(t.quoted()).append(" WHERE ");
            boolean composite = net.keyColumns.length > 1;
            if (composite) {
                b.append('(');
            }
            for (int k = 0; k < net.keyColumns.length; k++) {
                b.append(k > 0 ? ", " : "").append(TableId.quote(net.keyColumns[k]));
            }
            b.append(composite ? ") IN (" : " IN (");
            List<String> values = new ArrayList<>();
            for (int r = 0; r < chunk.size(); r++) {
                b.append(r > 0 ? ", " : "").append(composite ? "(" : "");
                for (int k = 0; k < net.keyColumns.length; k++) {
                    b.append(k > 0 ? ", " : "").append(param(t, net.keyColumns[k]));
                    values.add(chunk.get(r).get(k));
                }
                b.append(composite ? ")" : "");
            }
            b.append(')');
            sql = b.toString();
            PreparedStatement ps = statement(sql);
            for (int p = 0; p < values.size(); p++) {
                ps.setString(p + 1, values.get(p));
            }
            int n = ps.executeUpdate();
            if (n != chunk.size()) {
                throw new ReplicaDivergedException(
                        "changes on "
                                + t
                                + " expected "
                                + chunk.size()
                                + " existing rows and found "
                                + n
                                + " (the replica has diverged from the primary)");
            }
        }
        return sql;
    }

    /** Inserts the final rows, many per statement. */
    private String insertRows(TableId t, NetRows net) throws SQLException {
        List<String[]> rows = new ArrayList<>();
        for (String[] row : net.rows.values()) {
            if (row != null) {
                rows.add(row);
            }
        }
        String sql = null;
        for (int from = 0; from < rows.size(); from += NET_ROWS) {
            List<String[]> chunk = rows.subList(from, Math.min(rows.size(), from + NET_ROWS));
            StringBuilder b = new StringBuilder("INSERT INTO ").append(t.quoted()).append(" (");
            StringBuilder one = new StringBuilder("(");
            for (int k = 0; k < net.columns.length; k++) {
                b.append(k > 0 ? ", " : "").append(TableId.quote(net.columns[k]));
                one.append(k > 0 ? ", " : "").append(param(t, net.columns[k]));
            }
            one.append(')');
            b.append(") VALUES ");
            for (int r = 0; r < chunk.size(); r++) {
                b.append(r > 0 ? ", " : "").append(one);
            }
            sql = b.toString();
            PreparedStatement ps = statement(sql);
            int p = 1;
            for (String[] row : chunk) {
                for (int k = 0; k < row.length; k++) {
                    check(t, net.columns[k], row[k]);
                    ps.setString(p++, row[k]);
                }
            }
            int n = ps.executeUpdate();
            if (n != chunk.size()) {
                throw new ReplicaDivergedException(
                        "INSERT into " + t + " stored " + n + " of " + chunk.size() + " rows");
            }
        }
        return sql;
    }

    /** The bound statement of a change that may join a batch, or null. */
    private Bound batchable(RowChange c) throws SQLException {
        if (!c.op().isRow() || c.op() == RowChange.Op.TRUNCATE || c.fullRowKey()) {
            return null;
        }
        return bind(c);
    }

    /**
     * Sends the changes from {@code i} that share one statement as JDBC batches.
     *
     * @return the index of the first change after the run
     */
    private int executeRun(List<RowChange> changes, int i, Bound first, Bound second)
            throws SQLException {
        PreparedStatement ps = statement(first.sql);
        List<RowChange> run = new ArrayList<>();
        int j = i;
        Bound b = first;
        while (b != null && b.sql.equals(first.sql)) {
            for (int p = 0; p < b.values.size(); p++) {
                ps.setString(p + 1, b.values.get(p));
            }
            ps.addBatch();
            run.add(changes.get(j));
            j++;
            if (run.size() == MAX_BATCH) {
                checkCounts(run, ps.executeBatch());
                run.clear();
            }
            if (j >= changes.size()) {
                break;
            }
            b = j == i + 1 ? second : batchable(changes.get(j));
        }
        if (!run.isEmpty()) {
            checkCounts(run, ps.executeBatch());
        }
        return j;
    }

    /** Statements of different shapes, sent together in one round trip. */
    private final class Pipe {
        private final List<Entry> entries = new ArrayList<>();
        private final StringBuilder sql = new StringBuilder();
        private final int max;

        Pipe(int max) {
            this.max = max;
        }

        void add(SourceTransaction txn, RowChange change, TableId table, Bound bound)
                throws SQLException {
            if (!groupsCommits) {
                // The multi-statement string (Doltgres); PostgreSQL's pipeline takes them apart.
                if (!entries.isEmpty()) {
                    sql.append(";\n");
                }
                sql.append(bound.sql);
            }
            entries.add(new Entry(txn, change, table, bound));
            if (entries.size() >= max) {
                flush();
            }
        }

        void flush() throws SQLException {
            if (entries.isEmpty()) {
                return;
            }
            List<Integer> counts = new ArrayList<>();
            try {
                if (groupsCommits) {
                    // PostgreSQL: each statement prepared once, whatever the mix of a round trip.
                    List<String> texts = new ArrayList<>(entries.size());
                    List<List<String>> values = new ArrayList<>(entries.size());
                    for (Entry e : entries) {
                        texts.add(e.bound.sql);
                        values.add(e.bound.values);
                    }
                    pipeline().execute(texts, values, counts);
                } else {
                    executeJoined(counts);
                }
            } catch (SQLException e) {
                Entry failed = entries.get(Math.min(counts.size(), entries.size() - 1));
                throw new PipeException(failed, e, entries.size() > 1);
            }
            List<Entry> done = new ArrayList<>(entries);
            entries.clear();
            sql.setLength(0);
            for (int k = 0; k < done.size(); k++) {
                Entry e = done.get(k);
                int n = k < counts.size() ? counts.get(k) : Statement.SUCCESS_NO_INFO;
                if (n == 0 && e.change != null && touchedLater(done, k)) {
                    // Doltgres reports 0 for an UPDATE that wrote the values the row had; whether
                    // the row existed can only be checked before the later statements ran.
                    throw new PipeException(
                            e,
                            new SQLException("a row count needs checking before later statements"),
                            true);
                }
                try {
                    if (e.table == PROGRESS_TABLE) {
                        checkProgress(e.txn, n);
                    } else if (e.change != null) {
                        checkCounts(List.of(e.change), new int[] {n});
                    }
                } catch (SQLException | RuntimeException failure) {
                    throw new PipeException(e, failure, false);
                }
            }
        }

        /**
         * Sends the entries as one multi-statement string (Doltgres), filling {@code counts} as
         * {@link StatementPipeline#execute} does.
         */
        private void executeJoined(List<Integer> counts) throws SQLException {
            PreparedStatement ps = statement(sql.toString());
            int p = 1;
            for (Entry e : entries) {
                for (String v : e.bound.values) {
                    ps.setString(p++, v);
                }
            }
            boolean results = ps.execute();
            while (true) {
                if (results) {
                    ps.getResultSet().close();
                    counts.add(-1);
                } else {
                    int n = ps.getUpdateCount();
                    if (n == -1) {
                        break;
                    }
                    counts.add(n);
                }
                results = ps.getMoreResults();
            }
        }
    }

    /** Whether a statement after {@code k} in {@code entries} changed {@code k}'s table. */
    private static boolean touchedLater(List<Entry> entries, int k) {
        TableId table = entries.get(k).table;
        for (int i = k + 1; i < entries.size(); i++) {
            if (table.equals(entries.get(i).table)) {
                return true;
            }
        }
        return false;
    }

    /** One statement of a {@link Pipe}: a change, the progress row, or a session setting. */
    private record Entry(SourceTransaction txn, RowChange change, TableId table, Bound bound) {}

    /** A failed pipelined statement, naming it. */
    private static final class PipeException extends SQLException {
        private static final long serialVersionUID = 1L;
        final transient SourceTransaction txn;
        final transient TableId table;
        final String sql;
        final boolean ambiguous;

        PipeException(Entry e, Throwable cause, boolean ambiguous) {
            super(cause.getMessage(), cause);
            this.ambiguous = ambiguous;
            this.txn = e.txn;
            this.table = e.table;
            this.sql = e.bound.sql;
        }
    }

    /**
     * Before the data of a transaction: refuses a schema change that is not carried, and makes sure
     * the replica has an added column (adding it if the policy allows).
     *
     * @return the statement run, for error messages; null if none
     */
    private String prepareSchema(RowChange c) throws SQLException {
        TableId t = c.table();
        if (c.op() == RowChange.Op.SCHEMA_CHANGE_REFUSED) {
            throw new ReplicaSchemaException(c.refusal());
        }
        String column = c.addedColumn();
        String typeName = c.addedTypeName() == null ? null : c.addedTypeName().toLowerCase();
        SchemaCheck.Column existing = SchemaCheck.replicaColumns(connection, t).get(column);
        connection.rollback();
        String described = c.addedType() == null ? typeName : c.addedType();
        String added = "column " + column + " (" + described + ") was added to " + t;
        if (existing != null) {
            if (typeName != null
                    && !SchemaCheck.compatible(
                            policy.replicaTypeName(typeName), existing.typeName())) {
                throw new ReplicaSchemaException(
                        added
                                + " on the primary, but the replica's column "
                                + column
                                + " is "
                                + existing.typeName()
                                + ", which cannot hold every value");
            }
            return null;
        }
        String resume =
                " Then resume the job from its latest checkpoint: nothing after this transaction"
                        + " has been applied.";
        if (!policy.addColumns()) {
            throw new ReplicaSchemaException(
                    added
                            + " on the primary and the replica lacks it: set"
                            + " replica.add_columns: true to carry ADD COLUMN, or add the column"
                            + " to the replica table yourself (with the values the primary's"
                            + " existing rows have)."
                            + resume);
        }
        if (c.addedType() == null) {
            throw new ReplicaSchemaException(
                    added
                            + " on the primary but has since been dropped or changed there, so its"
                            + " definition is unknown: add it to the replica table yourself."
                            + resume);
        }
        if (RowChange.isUnchanged(c.addedFill())) {
            throw new ReplicaSchemaException(
                    added
                            + " on the primary with a volatile default (or a default set later):"
                            + " the values its existing rows got are not in the WAL, so it is not"
                            + " added automatically. Add it to the replica table yourself, with"
                            + " the primary's values."
                            + resume);
        }
        String ddlType = policy.replicaDdlType(typeName, c.addedType());
        if (!policy.isMapped(typeName) && !SchemaCheck.hasType(connection, ddlType)) {
            String base = typeName.startsWith("_") ? typeName.substring(1) : typeName;
            throw new ReplicaSchemaException(
                    added
                            + " on the primary; the replica lacks that type: map it to text"
                            + " (replica.type_mapping: {"
                            + base
                            + ": text})."
                            + resume);
        }
        String sql =
                "ALTER TABLE "
                        + t.quoted()
                        + " ADD COLUMN "
                        + TableId.quote(column)
                        + " "
                        + ddlType;
        try (Statement st = connection.createStatement()) {
            st.execute(sql);
        }
        connection.commit();
        columnTypes.forget(t);
        templates.clear();
        org.slf4j.LoggerFactory.getLogger(ReplicaSession.class)
                .info("carried ADD COLUMN to the replica: {}", sql);
        return sql;
    }

    /**
     * At the point of a transaction where the primary added a column: the rows that existed then
     * get the value the primary gave them (a fast default). Later changes set it themselves.
     */
    private String fillAddedColumn(RowChange c) throws SQLException {
        String fill = c.addedFill();
        if (fill == null || RowChange.isUnchanged(fill)) {
            return null;
        }
        String sql =
                "UPDATE "
                        + c.table().quoted()
                        + " SET "
                        + TableId.quote(c.addedColumn())
                        + " = "
                        + param(c.table(), c.addedColumn());
        check(c.table(), c.addedColumn(), fill);
        PreparedStatement ps = statement(sql);
        ps.setString(1, fill);
        ps.executeUpdate();
        return sql;
    }

    /**
     * Changes that are not batched: TRUNCATE, and changes of a table without a key, identified by
     * their whole old row. Such a row may exist several times, identical; exactly one copy is
     * meant. All matching copies are deleted and all but one put back; for an UPDATE the new row is
     * inserted in place of that one.
     *
     * @return the statement, for error messages
     */
    private String applyAlone(RowChange c) throws SQLException {
        if (c.op() == RowChange.Op.TRUNCATE) {
            String sql = "TRUNCATE TABLE " + c.table().quoted();
            try (Statement st = connection.createStatement()) {
                st.executeUpdate(sql);
            }
            return sql;
        }
        StringBuilder delete = new StringBuilder("DELETE FROM ").append(c.table().quoted());
        List<String> values = new ArrayList<>();
        appendWhere(delete, values, c);
        PreparedStatement ps = statement(delete.toString());
        for (int p = 0; p < values.size(); p++) {
            ps.setString(p + 1, values.get(p));
        }
        int matched = ps.executeUpdate();
        if (matched == 0) {
            throw new ReplicaDivergedException(
                    c.op()
                            + " on "
                            + c.table()
                            + " found no row equal to the old row (the table has no key; the"
                            + " replica has diverged from the primary)");
        }
        String[] oldValues = c.keyValues();
        Bound putBack = bindInsert(c.table(), c.keyColumns(), oldValues);
        for (int k = 1; k < matched; k++) {
            execute(putBack);
        }
        if (c.op() == RowChange.Op.UPDATE) {
            String[] newValues = c.values().clone();
            java.util.Map<String, String> old = new java.util.HashMap<>();
            for (int k = 0; k < c.keyColumns().length; k++) {
                old.put(c.keyColumns()[k], oldValues[k]);
            }
            for (int k = 0; k < newValues.length; k++) {
                if (RowChange.isUnchanged(newValues[k])) {
                    newValues[k] = old.get(c.columns()[k]);
                }
            }
            execute(bindInsert(c.table(), c.columns(), newValues));
        }
        return delete.toString();
    }

    /** Runs {@code b} on its own; returns its row count. */
    private int execute(Bound b) throws SQLException {
        PreparedStatement ps = statement(b.sql);
        for (int p = 0; p < b.values.size(); p++) {
            ps.setString(p + 1, b.values.get(p));
        }
        return ps.executeUpdate();
    }

    /**
     * Moves the progress row from {@code previous} to {@code txn}: a compare-and-set, so that two
     * committers of one pipeline (a zombie task that has not noticed its cancellation yet, and its
     * replacement) can never both apply a transaction. On PostgreSQL the row lock makes the loser's
     * UPDATE match nothing; on Doltgres the loser's commit conflicts with the winner's (both change
     * the row, at least in {@code committer_id}). {@link #checkProgress} checks its row count.
     */
    private Bound progressUpdate(SourceTransaction txn, Lsn previous) {
        this.progressFrom = previous;
        return new Bound(
                PROGRESS_UPDATE,
                List.of(
                        txn.commitLsn().toString(),
                        Long.toString(txn.xid()),
                        txn.commitTime().toString(),
                        committerId,
                        pipelineId,
                        previous.toString()));
    }

    /** The compare-and-set start position of the pending progress update. */
    private Lsn progressFrom = Lsn.ZERO;

    /**
     * After the progress UPDATE matched {@code updated} rows: none is right only for the first
     * transaction of a pipeline, whose row is inserted now.
     */
    private void checkProgress(SourceTransaction txn, int updated) throws SQLException {
        if (updated == 1) {
            return;
        }
        if (!progressFrom.isZero() || rowCount() != 0) {
            throw new ConcurrentCommitterException(
                    "the replica's progress for pipeline "
                            + pipelineId
                            + " is no longer at "
                            + progressFrom
                            + ": another committer of this pipeline applied transactions"
                            + " meanwhile");
        }
        PreparedStatement insert =
                statement(
                        "INSERT INTO "
                                + PROGRESS_TABLE.quoted()
                                + " (pipeline_id, commit_lsn, xid, commit_time, committer_id)"
                                + " VALUES (?, ?, ?, ?::timestamptz, ?)");
        insert.setString(1, pipelineId);
        insert.setString(2, txn.commitLsn().toString());
        insert.setLong(3, txn.xid());
        insert.setString(4, txn.commitTime().toString());
        insert.setString(5, committerId);
        insert.executeUpdate();
    }

    private long rowCount() throws SQLException {
        PreparedStatement ps =
                statement(
                        "SELECT count(*) FROM "
                                + PROGRESS_TABLE.quoted()
                                + " WHERE pipeline_id = ?");
        ps.setString(1, pipelineId);
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Every change must hit exactly one row. Doltgres counts the rows an UPDATE changed, not the
     * rows it matched, so an UPDATE that wrote the values the row already had reports 0: for those,
     * the row's existence is checked instead.
     */
    private void checkCounts(List<RowChange> run, int[] counts) throws SQLException {
        for (int k = 0; k < counts.length; k++) {
            int n = counts[k];
            RowChange c = run.get(k);
            if (n == 1 || n == Statement.SUCCESS_NO_INFO) {
                continue;
            }
            if (n == 0 && c.op() == RowChange.Op.UPDATE && rowExists(c)) {
                continue;
            }
            throw new ReplicaDivergedException(
                    c.op()
                            + " on "
                            + c.table()
                            + " changed "
                            + n
                            + " rows instead of 1: the replica row with key ("
                            + String.join(", ", c.keyColumns())
                            + ") is missing or duplicated (the replica has diverged from the"
                            + " primary)");
        }
    }

    private boolean rowExists(RowChange c) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT count(*) FROM ").append(c.table().quoted());
        List<String> values = new ArrayList<>();
        appendWhere(sql, values, c);
        PreparedStatement ps = statement(sql.toString());
        for (int p = 0; p < values.size(); p++) {
            ps.setString(p + 1, values.get(p));
        }
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() && rs.getLong(1) == 1;
        }
    }

    /** The PostgreSQL replica's statement pipeline, made on first use. */
    private StatementPipeline pipeline() throws SQLException {
        if (pipeline == null) {
            pipeline = new StatementPipeline(connection, MAX_CACHED_STATEMENTS);
        }
        return pipeline;
    }

    private PreparedStatement statement(String sql) throws SQLException {
        PreparedStatement ps = statements.get(sql);
        if (ps == null) {
            ps = connection.prepareStatement(sql);
            statements.put(sql, ps);
        }
        return ps;
    }

    /** A statement and its bound text values. */
    private record Bound(String sql, List<String> values) {}

    /**
     * Binds a row change. The statement text depends only on the change's shape (table, kind,
     * columns, which of them it sets, which key values are NULL), so it is built once per shape
     * ({@link Template}); a change then only binds and checks its values. Reusing the same text
     * also keeps the statement caches' lookups cheap.
     */
    private Bound bind(RowChange c) throws SQLException {
        String[] columns = c.columns();
        String[] values = c.values();
        String[] keyValues = c.keyValues();
        BitSet set = null;
        BitSet nullKeys = null;
        switch (c.op()) {
            case INSERT:
                for (String v : values) {
                    if (RowChange.isUnchanged(v)) {
                        throw new ReplicaDivergedException(
                                "INSERT into " + c.table() + " lacks the value of a column");
                    }
                }
                break;
            case UPDATE:
                set = new BitSet(columns.length);
                for (int k = 0; k < columns.length; k++) {
                    // A key column is set only when the change moves it (replica identity
                    // index); an unchanged TOASTed value keeps the replica's.
                    if (!RowChange.isUnchanged(values[k]) && !keyUnmoved(c, k)) {
                        set.set(k);
                    }
                }
                nullKeys = nullKeys(keyValues);
                break;
            case DELETE:
                nullKeys = nullKeys(keyValues);
                break;
            default:
                throw new IllegalStateException("unknown op " + c.op());
        }
        Shape shape =
                new Shape(
                        c.table(),
                        c.op(),
                        c.op() == RowChange.Op.DELETE ? List.of() : Arrays.asList(columns),
                        c.op() == RowChange.Op.INSERT ? List.of() : Arrays.asList(c.keyColumns()),
                        set,
                        nullKeys);
        Template template = templates.get(shape);
        if (template == null) {
            template = template(c, set, nullKeys);
            if (templates.size() >= MAX_TEMPLATES) {
                templates.clear();
            }
            templates.put(shape, template);
        }
        List<String> bound = new ArrayList<>(template.columns.length);
        if (set == null && nullKeys == null) {
            bound.addAll(Arrays.asList(values));
        } else {
            if (set != null) {
                for (int k = set.nextSetBit(0); k >= 0; k = set.nextSetBit(k + 1)) {
                    bound.add(values[k]);
                }
            }
            for (int k = 0; k < keyValues.length; k++) {
                if (!nullKeys.get(k)) {
                    bound.add(keyValues[k]);
                }
            }
        }
        for (int i = 0; i < bound.size(); i++) {
            if (template.refusable[i]) {
                String reason = dialect.refuse(template.castTypes[i], bound.get(i));
                if (reason != null) {
                    throw new ReplicaSchemaException(
                            "column " + template.columns[i] + " of " + c.table() + ": " + reason);
                }
            }
        }
        return new Bound(template.sql, bound);
    }

    /** Whether column {@code k} of {@code c} is a key column that keeps its value. */
    private static boolean keyUnmoved(RowChange c, int k) {
        String[] keyColumns = c.keyColumns();
        for (int j = 0; j < keyColumns.length; j++) {
            if (keyColumns[j].equals(c.columns()[k])) {
                return java.util.Objects.equals(c.keyValues()[j], c.values()[k]);
            }
        }
        return false;
    }

    private static BitSet nullKeys(String[] keyValues) {
        BitSet nulls = new BitSet(keyValues.length);
        for (int k = 0; k < keyValues.length; k++) {
            if (keyValues[k] == null) {
                nulls.set(k);
            }
        }
        return nulls;
    }

    /** What makes two row changes take the same statement text. */
    private record Shape(
            TableId table,
            RowChange.Op op,
            List<String> columns,
            List<String> keyColumns,
            BitSet set,
            BitSet nullKeys) {}

    /**
     * A statement text, and for each value it binds (in order) the column, its cast type and
     * whether the dialect may refuse a value of that type.
     */
    private record Template(
            String sql, String[] columns, String[] castTypes, boolean[] refusable) {}

    /** Bounds the templates of a session; a burst of new shapes only costs rebuilding them. */
    private static final int MAX_TEMPLATES = 4096;

    private final Map<Shape, Template> templates = new HashMap<>();

    private Template template(RowChange c, BitSet set, BitSet nullKeys) throws SQLException {
        TableId t = c.table();
        StringBuilder sql = new StringBuilder();
        List<String> bound = new ArrayList<>();
        // Values are checked against the dialect's limits; key values in the WHERE are not (the
        // replica holds them already).
        int checkedValues = 0;
        switch (c.op()) {
            case INSERT:
                sql.append(insertText(t, c.columns()));
                bound.addAll(Arrays.asList(c.columns()));
                checkedValues = bound.size();
                break;
            case UPDATE:
                sql.append("UPDATE ").append(t.quoted()).append(" SET ");
                if (set.isEmpty()) {
                    // Only key columns: set one to itself so the row is still checked to exist.
                    String k0 = TableId.quote(c.keyColumns()[0]);
                    sql.append(k0).append(" = ").append(k0);
                }
                for (int k = set.nextSetBit(0); k >= 0; k = set.nextSetBit(k + 1)) {
                    if (!bound.isEmpty()) {
                        sql.append(", ");
                    }
                    sql.append(TableId.quote(c.columns()[k]))
                            .append(" = ")
                            .append(param(t, c.columns()[k]));
                    bound.add(c.columns()[k]);
                }
                checkedValues = bound.size();
                appendWhere(sql, bound, c, nullKeys);
                break;
            case DELETE:
                sql.append("DELETE FROM ").append(t.quoted());
                appendWhere(sql, bound, c, nullKeys);
                break;
            default:
                throw new IllegalStateException("unknown op " + c.op());
        }
        String[] columns = bound.toArray(new String[0]);
        String[] castTypes = new String[columns.length];
        boolean[] refusable = new boolean[columns.length];
        for (int i = 0; i < columns.length; i++) {
            castTypes[i] = columnTypes.castType(connection, t, columns[i]);
            refusable[i] = i < checkedValues && dialect.mayRefuse(castTypes[i]);
        }
        return new Template(sql.toString(), columns, castTypes, refusable);
    }

    private Bound bindInsert(TableId t, String[] columns, String[] values) throws SQLException {
        for (int k = 0; k < columns.length; k++) {
            check(t, columns[k], values[k]);
        }
        return new Bound(insertText(t, columns), Arrays.asList(values));
    }

    /** {@code INSERT INTO t (columns) VALUES (placeholders)}, each placeholder of its column. */
    private String insertText(TableId t, String[] columns) throws SQLException {
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(t.quoted()).append(" (");
        StringBuilder params = new StringBuilder();
        for (int k = 0; k < columns.length; k++) {
            if (k > 0) {
                sql.append(", ");
                params.append(", ");
            }
            sql.append(TableId.quote(columns[k]));
            params.append(param(t, columns[k]));
        }
        return sql.append(") VALUES (").append(params).append(')').toString();
    }

    /** Appends the key condition; {@code values} gets the key values it binds, in order. */
    private void appendWhere(StringBuilder sql, List<String> values, RowChange c)
            throws SQLException {
        BitSet nulls = nullKeys(c.keyValues());
        appendWhere(sql, new ArrayList<>(), c, nulls);
        for (int k = 0; k < c.keyValues().length; k++) {
            if (!nulls.get(k)) {
                values.add(c.keyValues()[k]);
            }
        }
    }

    /** Appends the key condition; {@code columns} gets the key columns it binds, in order. */
    private void appendWhere(StringBuilder sql, List<String> columns, RowChange c, BitSet nullKeys)
            throws SQLException {
        sql.append(" WHERE ");
        for (int k = 0; k < c.keyColumns().length; k++) {
            if (k > 0) {
                sql.append(" AND ");
            }
            String column = TableId.quote(c.keyColumns()[k]);
            if (nullKeys.get(k)) {
                // Only a whole-row key of a keyless table can hold NULLs.
                sql.append(column).append(" IS NULL");
            } else {
                sql.append(column).append(" = ").append(param(c.table(), c.keyColumns()[k]));
                columns.add(c.keyColumns()[k]);
            }
        }
    }

    private String param(TableId table, String column) throws SQLException {
        return dialect.parameter(columnTypes.castType(connection, table, column));
    }

    /** Refuses a value the replica would store differently (see {@link ReplicaDialect#refuse}). */
    private void check(TableId table, String column, String value) throws SQLException {
        String reason = dialect.refuse(columnTypes.castType(connection, table, column), value);
        if (reason != null) {
            throw new ReplicaSchemaException("column " + column + " of " + table + ": " + reason);
        }
    }

    @Override
    public void close() {
        if (pipeline != null) {
            pipeline.close();
            pipeline = null;
        }
        for (PreparedStatement ps : statements.values()) {
            try {
                ps.close();
            } catch (SQLException ignored) {
                // The connection is closed next; nothing is left to release.
            }
        }
        statements.clear();
        try {
            connection.close();
        } catch (SQLException ignored) {
            // A broken connection cannot be closed cleanly; it is discarded either way.
        }
    }
}
