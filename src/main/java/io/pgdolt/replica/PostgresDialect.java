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

    @Override
    public String commit(Connection connection, SourceTransaction txn, String pipelineId)
            throws SQLException {
        connection.commit();
        return null;
    }
}
