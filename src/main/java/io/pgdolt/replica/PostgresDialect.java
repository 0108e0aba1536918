package io.pgdolt.replica;

import io.pgdolt.txn.SourceTransaction;
import java.sql.Connection;
import java.sql.SQLException;

/** A plain PostgreSQL replica: one SQL transaction per source transaction, no versioning. */
public final class PostgresDialect implements ReplicaDialect {
    private static final long serialVersionUID = 1L;

    @Override
    public String name() {
        return "postgres";
    }

    /**
     * A commit that need not be durable yet skips the WAL flush: the committer makes the last
     * commit of each checkpoint durable, which flushes every earlier one.
     */
    @Override
    public java.util.List<String> beginStatements(boolean durable) {
        return durable
                ? java.util.List.of()
                : java.util.List.of("SET LOCAL synchronous_commit TO off");
    }

    @Override
    public String commit(
            Connection connection,
            java.util.List<SourceTransaction> txns,
            java.util.Map<io.pgdolt.txn.TableId, Long> perTable,
            String pipelineId)
            throws SQLException {
        connection.commit();
        return null;
    }

    @Override
    public java.util.List<Sql> commitStatements(
            java.util.List<SourceTransaction> txns,
            java.util.Map<io.pgdolt.txn.TableId, Long> perTable,
            String pipelineId) {
        return java.util.List.of(new Sql("COMMIT"));
    }
}
