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

    /**
     * The change as a data-modifying CTE whose count of changed rows must be 1. Otherwise the cast
     * fails ({@code invalid input syntax for type integer: "pgdolt: 0 rows changed ..."}), at run
     * time: the ELSE branch depends on the count, so the planner cannot fold it.
     */
    @Override
    public String checkedOneRow(String dml) {
        return "WITH pgdolt_changed AS ("
                + dml
                + " RETURNING 1) SELECT CASE WHEN count(*) = 1 THEN 1 ELSE CAST('pgdolt: '"
                + " || count(*) || ' rows changed instead of 1' AS int4) END FROM"
                + " pgdolt_changed";
    }

    @Override
    public java.util.List<Sql> commitStatements(
            java.util.List<SourceTransaction> txns,
            java.util.Map<io.pgdolt.txn.TableId, Long> perTable,
            String pipelineId) {
        return java.util.List.of(new Sql("COMMIT"));
    }
}
