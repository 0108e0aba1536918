package io.pgdolt.replica;

import io.pgdolt.config.Secret;
import io.pgdolt.txn.TableId;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

/**
 * Loads rows into replica tables with {@code COPY ... FROM STDIN}, fed row by row from a {@code
 * COPY ... TO STDOUT} on the primary (text format, which both servers read and write the same way).
 * Each value the replica would store differently is refused first ({@link ReplicaDialect#refuse}),
 * as on the streaming path.
 *
 * <p>One connection; each {@link #load} is one replica transaction. Not thread-safe.
 */
public final class BulkLoader implements AutoCloseable {
    private static final int FLUSH_BYTES = 256 * 1024;

    private final Connection connection;
    private final ReplicaDialect dialect;
    private final ColumnTypes columnTypes = new ColumnTypes();

    private BulkLoader(Connection connection, ReplicaDialect dialect) {
        this.connection = connection;
        this.dialect = dialect;
    }

    public static BulkLoader open(
            String url, String user, Secret password, ReplicaDialect dialect, String pipelineId)
            throws SQLException {
        Connection c = ReplicaSession.connect(url, user, password, pipelineId);
        try {
            try (Statement st = c.createStatement()) {
                st.execute("SET TIME ZONE 'UTC'");
            }
            c.setAutoCommit(false);
            return new BulkLoader(c, dialect);
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Copies every row {@code source} delivers into {@code columns} of {@code table} and commits.
     *
     * @param columns the columns of {@code source}'s rows, in order
     * @return the number of rows loaded
     * @throws ReplicaSchemaException for a value the replica cannot store exactly (nothing of this
     *     load is committed)
     */
    public long load(TableId table, List<String> columns, CopyOut source) throws SQLException {
        String[] castTypes = new String[columns.size()];
        boolean anyChecked = false;
        for (int i = 0; i < castTypes.length; i++) {
            String cast = columnTypes.castType(connection, table, columns.get(i));
            if (dialect.mayRefuse(cast)) {
                castTypes[i] = cast;
                anyChecked = true;
            }
        }
        byte[] first = source.readFromCopy();
        if (first == null) {
            // Nothing to load (Doltgres refuses a COPY that sends no data).
            return 0;
        }
        StringBuilder sql = new StringBuilder("COPY ").append(table.quoted()).append(" (");
        for (int i = 0; i < columns.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append(TableId.quote(columns.get(i)));
        }
        sql.append(") FROM STDIN");
        CopyIn in = connection.unwrap(PGConnection.class).getCopyAPI().copyIn(sql.toString());
        long rows = 0;
        try {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream(FLUSH_BYTES + 4096);
            for (byte[] row = first; row != null; row = source.readFromCopy()) {
                if (anyChecked) {
                    check(table, columns, castTypes, row);
                }
                buffer.write(row, 0, row.length);
                rows++;
                if (buffer.size() >= FLUSH_BYTES) {
                    in.writeToCopy(buffer.toByteArray(), 0, buffer.size());
                    buffer.reset();
                }
            }
            if (buffer.size() > 0) {
                in.writeToCopy(buffer.toByteArray(), 0, buffer.size());
            }
            long loaded = in.endCopy();
            if (loaded >= 0 && loaded != rows) {
                throw new SQLException(
                        "COPY into "
                                + table
                                + " took "
                                + loaded
                                + " rows of the "
                                + rows
                                + " sent");
            }
        } catch (SQLException | RuntimeException e) {
            if (in.isActive()) {
                try {
                    in.cancelCopy();
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            rollback(e);
            throw e;
        }
        connection.commit();
        return rows;
    }

    private void check(TableId table, List<String> columns, String[] castTypes, byte[] row) {
        List<String> fields = CopyText.fields(row);
        for (int i = 0; i < castTypes.length && i < fields.size(); i++) {
            if (castTypes[i] == null) {
                continue;
            }
            String reason = dialect.refuse(castTypes[i], fields.get(i));
            if (reason != null) {
                throw new ReplicaSchemaException(
                        "column " + columns.get(i) + " of " + table + ": " + reason);
            }
        }
    }

    private void rollback(Exception e) {
        try {
            connection.rollback();
        } catch (SQLException suppressed) {
            e.addSuppressed(suppressed);
        }
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // A broken connection cannot be closed cleanly; it is discarded either way.
        }
    }

    /** The text format of COPY: tab-separated fields, {@code \N} for NULL, backslash escapes. */
    static final class CopyText {
        private CopyText() {}

        /** The decoded fields of one row (without its newline); NULL fields are null. */
        static List<String> fields(byte[] row) {
            int end = row.length;
            if (end > 0 && row[end - 1] == '\n') {
                end--;
            }
            List<String> out = new java.util.ArrayList<>();
            int start = 0;
            for (int i = 0; i <= end; i++) {
                if (i == end || row[i] == '\t') {
                    out.add(decode(row, start, i));
                    start = i + 1;
                }
            }
            return out;
        }

        private static String decode(byte[] b, int from, int to) {
            if (to - from == 2 && b[from] == '\\' && b[from + 1] == 'N') {
                return null;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
            for (int i = from; i < to; i++) {
                byte c = b[i];
                if (c != '\\' || i + 1 >= to) {
                    out.write(c);
                    continue;
                }
                byte n = b[++i];
                switch (n) {
                    case 'b':
                        out.write('\b');
                        break;
                    case 'f':
                        out.write('\f');
                        break;
                    case 'n':
                        out.write('\n');
                        break;
                    case 'r':
                        out.write('\r');
                        break;
                    case 't':
                        out.write('\t');
                        break;
                    case 'v':
                        out.write(0x0B);
                        break;
                    case 'x':
                        {
                            int v = 0;
                            int k = 0;
                            while (k < 2 && i + 1 < to && Character.digit(b[i + 1], 16) >= 0) {
                                v = v * 16 + Character.digit(b[++i], 16);
                                k++;
                            }
                            out.write(k == 0 ? 'x' : v);
                            break;
                        }
                    default:
                        if (n >= '0' && n <= '7') {
                            int v = n - '0';
                            int k = 1;
                            while (k < 3 && i + 1 < to && b[i + 1] >= '0' && b[i + 1] <= '7') {
                                v = v * 8 + (b[++i] - '0');
                                k++;
                            }
                            out.write(v);
                        } else {
                            out.write(n);
                        }
                }
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
