package io.pgdolt.replica;

import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import java.sql.SQLException;

/**
 * Applying a source transaction to the replica failed. The message names xid, commit LSN, table and
 * statement (never bound values). {@link #isTransient()} tells whether a retry on a new connection
 * may succeed (connection lost, server restarting) or the transaction itself is refused.
 */
public final class ApplyException extends Exception {
    private static final long serialVersionUID = 1L;

    private final boolean transientFailure;

    ApplyException(SourceTransaction txn, TableId table, String statement, Throwable cause) {
        super(describe(txn, table, statement, cause), cause);
        this.transientFailure = isTransient(cause);
    }

    public boolean isTransient() {
        return transientFailure;
    }

    private static String describe(
            SourceTransaction txn, TableId table, String statement, Throwable cause) {
        StringBuilder sb = new StringBuilder("replica refused source transaction xid ");
        sb.append(txn.xid()).append(" (commit LSN ").append(txn.commitLsn()).append(")");
        if (table != null) {
            sb.append(" on table ").append(table);
        }
        if (statement != null) {
            sb.append(" in statement [").append(statement).append("]");
        }
        SQLException sql = firstSqlException(cause);
        if (sql != null && sql.getSQLState() != null) {
            sb.append(" SQLSTATE ").append(sql.getSQLState());
        }
        sb.append(": ").append(cause.getMessage());
        return sb.toString();
    }

    /**
     * Connection failures (class 08), server shutdown (57P01-57P03), insufficient resources (53),
     * serialization failures and deadlocks (40001, 40P01), I/O errors, and a concurrent committer
     * (progress compare-and-set lost, or a Doltgres merge conflict) are worth a retry: the retry
     * re-reads the progress first.
     */
    static boolean isTransient(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.io.IOException || c instanceof ConcurrentCommitterException) {
                return true;
            }
            String message = c.getMessage();
            if (c instanceof SQLException
                    && message != null
                    && message.toLowerCase(java.util.Locale.ROOT).contains("merge conflict")) {
                // Doltgres: a concurrent transaction changed the same rows (the progress row).
                return true;
            }
            if (c instanceof SQLException) {
                String state = ((SQLException) c).getSQLState();
                if (state != null
                        && (state.startsWith("08")
                                || state.startsWith("53")
                                || state.startsWith("57P")
                                || state.equals("40001")
                                || state.equals("40P01"))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static SQLException firstSqlException(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException) {
                return (SQLException) c;
            }
        }
        return null;
    }
}
