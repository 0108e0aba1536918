package org.postgresql.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.postgresql.core.CachedQuery;
import org.postgresql.core.Field;
import org.postgresql.core.Oid;
import org.postgresql.core.ParameterList;
import org.postgresql.core.Query;
import org.postgresql.core.QueryExecutor;
import org.postgresql.core.ResultCursor;
import org.postgresql.core.Tuple;

/**
 * Sends statements of different shapes to PostgreSQL in one round trip, each statement parsed once
 * per connection and prepared on the server under a name of its own. pgdolt's, not pgjdbc's: it
 * lives in pgjdbc's package only because the batch handler it extends has a package-private
 * constructor. Written against pgjdbc 42.7.3 (pinned in the pom); {@code StatementPipelineITCase}
 * runs it against a real server.
 *
 * <p>Why: JDBC can send statements of different shapes together only as one multi-statement string.
 * Such a string is new whenever the transactions it carries touch tables in a new order, so pgjdbc
 * parses it again and the server parses and plans every statement in it again: a workload over many
 * tables then applies at half the rate of one over a single table. Here the unit of caching is the
 * single statement, so the same shapes are reused in any order.
 *
 * <p>The statements run in order as the extended protocol runs a batch: after the first failure the
 * server skips the rest (pgjdbc sends nothing more once it has seen an error), so a failure never
 * lets a later statement run.
 *
 * <p>Not thread-safe: one per session, as its connection is.
 */
public final class StatementPipeline implements AutoCloseable {
    private final PgConnection connection;
    private final PgStatement owner;
    private final int stringOid;
    private final Map<String, CachedQuery> queries;

    /** Left the cache while a batch was being built: closed once that batch has run. */
    private final List<CachedQuery> evicted = new ArrayList<>();

    /**
     * @param cached at most this many statement shapes stay prepared; the least recently used one
     *     is closed on the server beyond that
     */
    public StatementPipeline(Connection connection, int cached) throws SQLException {
        this.connection = connection.unwrap(PgConnection.class);
        this.owner = (PgStatement) this.connection.createStatement();
        this.stringOid = this.connection.getStringVarcharFlag() ? Oid.VARCHAR : Oid.UNSPECIFIED;
        this.queries =
                new LinkedHashMap<>(64, 0.75f, true) {
                    private static final long serialVersionUID = 1L;

                    @Override
                    protected boolean removeEldestEntry(Map.Entry<String, CachedQuery> eldest) {
                        if (size() <= cached) {
                            return false;
                        }
                        // It may be in the batch being built: closed after that batch.
                        evicted.add(eldest.getValue());
                        return true;
                    }
                };
    }

    /**
     * Runs {@code sql.get(i)} with the text values {@code values.get(i)} (a null is SQL NULL) for
     * every i, in order, in one round trip, as {@code PreparedStatement.setString} would bind them.
     *
     * @param results filled, in order, with one entry per statement that completed: -1 for a
     *     statement that returned rows, else its update count; on failure it holds the statements
     *     before the one that failed
     * @throws SQLException the server's error for the first statement that failed (or the driver's,
     *     on a broken connection)
     */
    public void execute(List<String> sql, List<List<String>> values, List<Integer> results)
            throws SQLException {
        QueryExecutor executor = connection.getQueryExecutor();
        Query[] batch = new Query[sql.size()];
        ParameterList[] parameters = new ParameterList[sql.size()];
        for (int i = 0; i < batch.length; i++) {
            CachedQuery cached = queries.get(sql.get(i));
            if (cached == null) {
                cached = executor.createQuery(sql.get(i), true, true);
                queries.put(sql.get(i), cached);
            }
            batch[i] = cached.query;
            ParameterList p = cached.query.createParameterList();
            List<String> v = values.get(i);
            for (int k = 0; k < v.size(); k++) {
                if (v.get(k) == null) {
                    p.setNull(k + 1, stringOid);
                } else {
                    p.setStringParameter(k + 1, v.get(k), stringOid);
                }
            }
            parameters[i] = p;
        }
        int flags =
                QueryExecutor.QUERY_BOTH_ROWS_AND_STATUS | QueryExecutor.QUERY_NO_BINARY_TRANSFER;
        if (connection.getAutoCommit()) {
            flags |= QueryExecutor.QUERY_SUPPRESS_BEGIN;
        }
        try {
            executor.execute(
                    batch, parameters, new Results(owner, batch, parameters, results), 0, 0, flags);
        } finally {
            // Deallocated on the server with the next round trip.
            for (CachedQuery q : evicted) {
                q.query.close();
            }
            evicted.clear();
        }
    }

    /** Closes the prepared statements on the server, then the statement they ran under. */
    @Override
    public void close() {
        for (CachedQuery q : queries.values()) {
            q.query.close();
        }
        queries.clear();
        for (CachedQuery q : evicted) {
            q.query.close();
        }
        evicted.clear();
        try {
            owner.close();
        } catch (SQLException ignored) {
            // Only releases driver state; the connection is closed next.
        }
    }

    /** Records each statement's outcome, and keeps the first error as the server sent it. */
    private static final class Results extends BatchResultHandler {
        private final List<Integer> results;
        private boolean rows;
        private SQLException first;

        Results(
                PgStatement owner,
                Query[] batch,
                ParameterList[] parameters,
                List<Integer> results) {
            super(owner, batch, parameters, false);
            this.results = results;
        }

        @Override
        public void handleResultRows(
                Query fromQuery, Field[] fields, List<Tuple> tuples, ResultCursor cursor) {
            rows = true;
        }

        @Override
        public void handleCommandStatus(String status, long updateCount, long insertOID) {
            results.add(rows ? -1 : (int) Math.min(updateCount, Integer.MAX_VALUE));
            rows = false;
        }

        @Override
        public void handleWarning(SQLWarning warning) {
            // Not kept: nothing reads them, and they would pile up on the shared statement.
        }

        @Override
        public void handleError(SQLException error) {
            if (first == null) {
                first = error;
            }
            super.handleError(error);
        }

        @Override
        public void secureProgress() {
            // Only for autocommit batches, where statements before a forced sync are committed.
        }

        @Override
        public void handleCompletion() throws SQLException {
            if (first != null) {
                throw first;
            }
        }
    }
}
