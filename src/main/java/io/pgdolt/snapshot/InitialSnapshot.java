package io.pgdolt.snapshot;

import io.pgdolt.config.PipelineConfig;
import io.pgdolt.replica.BulkLoader;
import io.pgdolt.replica.ReplicaDialect;
import io.pgdolt.source.SourceTables;
import io.pgdolt.txn.TableId;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the published rows of the primary, as of an {@link ExportedSnapshot}, into the replica:
 * each table split into chunks of heap blocks ({@code ctid} ranges, so any table, with or without a
 * key, splits evenly), read by {@code snapshot_parallelism} connections that all import the same
 * snapshot, and written with {@code COPY} by as many replica connections. Nothing on the primary is
 * locked beyond what a plain {@code SELECT} takes: writes go on throughout.
 *
 * <p>Publication column lists and row filters apply, as they do to the changes that follow.
 */
final class InitialSnapshot {
    private static final Logger LOG = LoggerFactory.getLogger(InitialSnapshot.class);
    private static final long PROGRESS_INTERVAL_MS = 5_000;

    private final PipelineConfig config;
    private final SourceTables tables;
    private final ReplicaDialect dialect;
    private final AtomicLong rowsDone = new AtomicLong();
    private final AtomicInteger tablesDone = new AtomicInteger();
    private final Map<TableId, AtomicLong> rowsPerTable = new ConcurrentHashMap<>();
    private final Map<TableId, AtomicInteger> chunksLeft = new ConcurrentHashMap<>();

    /** A part of one table: heap blocks {@code [fromBlock, toBlock)}, open-ended when -1. */
    record Chunk(TableId table, String filter, boolean only, long fromBlock, long toBlock) {
        String where() {
            List<String> conditions = new ArrayList<>();
            if (fromBlock > 0) {
                conditions.add("ctid >= '(" + fromBlock + ",0)'::tid");
            }
            if (toBlock >= 0) {
                conditions.add("ctid < '(" + toBlock + ",0)'::tid");
            }
            if (filter != null) {
                conditions.add("(" + filter + ")");
            }
            return conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions);
        }
    }

    /** What was loaded. */
    record Result(int tables, long rows, Map<TableId, Long> rowsPerTable) {}

    InitialSnapshot(PipelineConfig config, SourceTables tables, ReplicaDialect dialect) {
        this.config = config;
        this.tables = tables;
        this.dialect = dialect;
    }

    /** Loads every table as of {@code snapshot}; on failure nothing of the snapshot is recorded. */
    Result load(ExportedSnapshot snapshot) throws SQLException, InterruptedException {
        long started = System.nanoTime();
        // The coordinator's transaction holds ACCESS SHARE locks on every table until the load
        // ends, as pg_dump does: writes go on, but no ALTER TABLE, VACUUM FULL or CLUSTER can
        // rewrite a table under the snapshot (a rewrite is not MVCC-safe and would hide its rows).
        try (Connection coordinator = primary(snapshot)) {
            List<Chunk> chunks = plan(coordinator);
            Result result = load(snapshot, chunks, started);
            coordinator.rollback();
            return result;
        }
    }

    private Result load(ExportedSnapshot snapshot, List<Chunk> chunks, long started)
            throws SQLException, InterruptedException {
        for (TableId t : tables.tables()) {
            rowsPerTable.put(t, new AtomicLong());
            chunksLeft.put(t, new AtomicInteger());
        }
        for (Chunk chunk : chunks) {
            chunksLeft.get(chunk.table()).incrementAndGet();
        }
        int parallelism = Math.min(config.startup().snapshotParallelism(), chunks.size());
        LOG.info(
                "initial snapshot: {} table(s) in {} chunk(s), {} connection(s) per side, as of"
                        + " LSN {}",
                tables.tables().size(),
                chunks.size(),
                parallelism,
                snapshot.consistentPoint());
        ConcurrentLinkedQueue<Chunk> queue = new ConcurrentLinkedQueue<>(chunks);
        ExecutorService pool =
                Executors.newFixedThreadPool(
                        Math.max(1, parallelism),
                        r -> {
                            Thread t = new Thread(r, "pgdolt-snapshot");
                            t.setDaemon(true);
                            return t;
                        });
        try {
            List<Future<Void>> workers = new ArrayList<>();
            for (int i = 0; i < parallelism; i++) {
                workers.add(pool.submit(() -> work(snapshot, queue)));
            }
            long lastReport = System.nanoTime();
            // A failed worker empties the queue itself (see work), so the others stop after their
            // current chunk and the first failure is reported without waiting for the rest.
            for (Future<Void> w : workers) {
                while (true) {
                    try {
                        w.get(1, TimeUnit.SECONDS);
                        break;
                    } catch (TimeoutException e) {
                        if (System.nanoTime() - lastReport
                                >= TimeUnit.MILLISECONDS.toNanos(PROGRESS_INTERVAL_MS)) {
                            report(started);
                            lastReport = System.nanoTime();
                        }
                    } catch (ExecutionException e) {
                        Throwable cause = e.getCause();
                        if (cause instanceof SQLException) {
                            throw (SQLException) cause;
                        }
                        if (cause instanceof RuntimeException) {
                            throw (RuntimeException) cause;
                        }
                        throw new SQLException(cause);
                    }
                }
            }
        } finally {
            queue.clear();
            pool.shutdownNow();
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn(
                        "initial snapshot: workers still busy after 60 s; their connections close");
            }
        }
        report(started);
        Map<TableId, Long> perTable = new TreeMap<>();
        rowsPerTable.forEach((t, n) -> perTable.put(t, n.get()));
        return new Result(tables.tables().size(), rowsDone.get(), perTable);
    }

    private void report(long started) {
        double seconds = Math.max(0.001, (System.nanoTime() - started) / 1e9);
        LOG.info(
                "initial snapshot: {}/{} tables, {} rows in {} s ({} rows/s)",
                tablesDone.get(),
                tables.tables().size(),
                rowsDone.get(),
                Math.round(seconds),
                Math.round(rowsDone.get() / seconds));
    }

    /** One worker: its own snapshot-importing primary connection and replica connection. */
    private Void work(ExportedSnapshot snapshot, ConcurrentLinkedQueue<Chunk> queue)
            throws SQLException {
        try {
            return copyChunks(snapshot, queue);
        } catch (SQLException | RuntimeException e) {
            queue.clear();
            throw e;
        }
    }

    private Void copyChunks(ExportedSnapshot snapshot, ConcurrentLinkedQueue<Chunk> queue)
            throws SQLException {
        PipelineConfig.Replica r = config.replica();
        try (Connection source = primary(snapshot);
                BulkLoader sink =
                        BulkLoader.open(
                                r.url(), r.user(), r.password(), dialect, config.pipeline().id())) {
            Chunk chunk;
            while ((chunk = queue.poll()) != null) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new SQLException("initial snapshot interrupted");
                }
                List<String> columns =
                        new ArrayList<>(tables.byId().get(chunk.table()).columns().keySet());
                StringBuilder select = new StringBuilder("COPY (SELECT ");
                for (int i = 0; i < columns.size(); i++) {
                    select.append(i == 0 ? "" : ", ").append(TableId.quote(columns.get(i)));
                }
                // ONLY: rows of inheritance children are not published with the parent.
                select.append(chunk.only() ? " FROM ONLY " : " FROM ")
                        .append(chunk.table().quoted())
                        .append(chunk.where())
                        .append(") TO STDOUT");
                CopyOut out =
                        source.unwrap(PGConnection.class).getCopyAPI().copyOut(select.toString());
                long n;
                try {
                    n = sink.load(chunk.table(), columns, out);
                } catch (SQLException e) {
                    throw new SQLException(
                            "initial snapshot of "
                                    + chunk.table()
                                    + " (heap blocks "
                                    + chunk.fromBlock()
                                    + (chunk.toBlock() < 0 ? " on" : " to " + chunk.toBlock())
                                    + ") failed; nothing of the snapshot is recorded, and the next"
                                    + " start loads it again: "
                                    + e.getMessage(),
                            e.getSQLState(),
                            e);
                } finally {
                    if (out.isActive()) {
                        try {
                            out.cancelCopy();
                        } catch (SQLException ignored) {
                            // The load failed already; that error is the one reported.
                        }
                    }
                }
                rowsDone.addAndGet(n);
                long tableRows = rowsPerTable.get(chunk.table()).addAndGet(n);
                if (chunksLeft.get(chunk.table()).decrementAndGet() == 0) {
                    tablesDone.incrementAndGet();
                    LOG.info("initial snapshot: {} done, {} rows", chunk.table(), tableRows);
                }
            }
            source.rollback();
        }
        return null;
    }

    /** Splits each table into block ranges of about {@code snapshot_chunk_rows} rows. */
    private List<Chunk> plan(Connection c) throws SQLException {
        boolean rowFilters = c.getMetaData().getDatabaseMajorVersion() >= 15;
        long chunkRows = config.startup().snapshotChunkRows();
        List<Chunk> chunks = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            // Wait at most a minute for DDL running on a table, rather than hang.
            st.execute("SET LOCAL lock_timeout = '60s'");
            for (TableId t : tables.tables()) {
                st.execute("LOCK TABLE " + t.quoted() + " IN ACCESS SHARE MODE");
            }
        }
        for (TableId t : tables.tables()) {
            String filter = rowFilters ? rowFilter(c, t) : null;
            long blocks;
            double tuples;
            boolean plainTable;
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT pg_relation_size(r.oid) / current_setting('block_size')::int8,"
                                    + " r.reltuples, r.relkind IN ('r', 'm'),"
                                    // The snapshot's row of pg_class against the current one:
                                    // differing files mean a rewrite after the snapshot.
                                    + " r.relfilenode <> 0"
                                    + " AND r.relfilenode <> pg_relation_filenode(r.oid)"
                                    + " FROM pg_class r JOIN pg_namespace n"
                                    + " ON n.oid = r.relnamespace"
                                    + " WHERE n.nspname = ? AND r.relname = ?")) {
                ps.setString(1, t.schema());
                ps.setString(2, t.table());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    blocks = rs.getLong(1);
                    tuples = rs.getDouble(2);
                    plainTable = rs.getBoolean(3);
                    if (rs.getBoolean(4)) {
                        throw new SQLException(
                                "initial snapshot: table "
                                        + t
                                        + " was rewritten (ALTER TABLE, VACUUM FULL or CLUSTER)"
                                        + " after the snapshot was taken; start again");
                    }
                }
            }
            if (!plainTable || blocks <= 1) {
                chunks.add(new Chunk(t, filter, plainTable, 0, -1));
                continue;
            }
            // Never analysed (reltuples -1): assume rows of about 100 bytes.
            double perBlock = tuples > 0 ? Math.max(1.0, tuples / blocks) : 80.0;
            long step = Math.max(1, (long) (chunkRows / perBlock));
            for (long from = 0; from < blocks; from += step) {
                long to = from + step >= blocks ? -1 : from + step;
                chunks.add(new Chunk(t, filter, true, from, to));
            }
        }
        return chunks;
    }

    private String rowFilter(Connection c, TableId t) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT rowfilter FROM pg_publication_tables"
                                + " WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
            ps.setString(1, config.primary().publicationName());
            ps.setString(2, t.schema());
            ps.setString(3, t.table());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** A primary connection inside a read-only transaction on {@code snapshot}. */
    private Connection primary(ExportedSnapshot snapshot) throws SQLException {
        PipelineConfig.Primary p = config.primary();
        Connection c =
                DriverManager.getConnection(p.jdbcUrl(), p.jdbcProperties("pgdolt-snapshot"));
        try {
            try (Statement st = c.createStatement()) {
                // Text output both servers read back the same: UTC, ISO dates, exact floats.
                st.execute("SET TIME ZONE 'UTC'");
                st.execute("SET DateStyle = ISO");
                st.execute("SET IntervalStyle = postgres");
                st.execute("SET extra_float_digits = 3");
                st.execute("SET bytea_output = hex");
                // Row-level security would silently filter the copy: fail instead.
                st.execute("SET row_security = off");
            }
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                st.execute("SET TRANSACTION SNAPSHOT '" + snapshot.snapshotName() + "'");
            }
            return c;
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
