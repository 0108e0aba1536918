package io.pgdolt.replica;

import io.pgdolt.txn.SourceTransaction;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * What differs between replica servers: how one applied source transaction is made durable (and, on
 * Doltgres, versioned). Everything else — statements, progress row, idempotence — is shared.
 */
public interface ReplicaDialect extends Serializable {

    /** A short name for logs ("doltgres", "postgres"). */
    String name();

    /**
     * Why the replica cannot store {@code value} (PostgreSQL text form) in a column of {@code
     * castType} exactly, or {@code null} if it can. A refused value stops the job: the replica must
     * not silently hold something else.
     */
    default String refuse(String castType, String value) {
        return null;
    }

    /**
     * Whether {@link #refuse} can refuse any value of {@code castType} (bulk loads skip others).
     */
    default boolean mayRefuse(String castType) {
        return false;
    }

    /**
     * Statements that open a replica transaction for applied changes.
     *
     * @param durable whether its commit must be durable when it returns (see {@link
     *     ReplicaSession#apply(java.util.List, io.pgdolt.txn.Lsn, boolean)})
     */
    default java.util.List<String> beginStatements(boolean durable) {
        return java.util.List.of();
    }

    /**
     * Commits the open replica transaction, which already holds the data changes of {@code txns}
     * (one source transaction, or a checkpoint's in commit order) and the progress row.
     *
     * @param perTable how many row changes of {@code txns} each table got (staged transactions
     *     carry no changes of their own to count)
     * @return the Dolt commit hash, or {@code null} where the replica has none
     */
    String commit(
            Connection connection,
            java.util.List<SourceTransaction> txns,
            java.util.Map<io.pgdolt.txn.TableId, Long> perTable,
            String pipelineId)
            throws SQLException;

    /** A statement and its parameters, bound as strings. */
    record Sql(String text, java.util.List<String> params) {
        public Sql(String text) {
            this(text, java.util.List.of());
        }
    }

    /**
     * Statements that do what {@link #commit} does (same arguments), for sending in one round trip
     * with the statements that follow them: after them the session is outside any transaction. Such
     * a commit need not be durable (the committer makes a later one durable).
     */
    java.util.List<Sql> commitStatements(
            java.util.List<SourceTransaction> txns,
            java.util.Map<io.pgdolt.txn.TableId, Long> perTable,
            String pipelineId);

    /**
     * {@code dml} (an UPDATE or DELETE meant to change exactly one row) as a statement that fails
     * on the replica unless it changed exactly one row, or {@code null} where the replica cannot
     * check that itself. With it, a transaction's commit can follow its statements in the same
     * round trip: a transaction the replica disagrees with fails before its COMMIT runs.
     */
    default String checkedOneRow(String dml) {
        return null;
    }

    /**
     * Cast types whose values are bound with no cast, as parameters of unspecified type (a session
     * with any sends every string so): the server takes the column's type for such a parameter and
     * reads the text with that type's input function, which is what the cast does, without an
     * expression to plan again at each execution.
     */
    default java.util.Set<String> uncastTypes() {
        return java.util.Set.of();
    }

    /** The placeholder of a text value for a column of cast type {@code castType}. */
    default String parameter(String castType) {
        return uncastTypes().contains(castType) ? "?" : "CAST(? AS " + castType + ")";
    }

    /**
     * Keeps {@code table}, which the job is about to create in the public schema for its own
     * bookkeeping, out of versioned commits. Nothing to do on a replica without versions.
     */
    default void excludeFromVersioning(Connection connection, String table) throws SQLException {}

    /**
     * Commits the open replica transaction for a starting point of the pipeline (the initial
     * snapshot, or the position a {@code from-lsn} start begins after), with {@code message} as the
     * Dolt commit message where there is one.
     *
     * @return the Dolt commit hash, or {@code null} where the replica has none
     */
    default String commitStart(Connection connection, String message, java.time.Instant date)
            throws SQLException {
        connection.commit();
        return null;
    }

    /**
     * The commit LSN of the newest source transaction that the replica's own history records as
     * applied by {@code pipelineId}, or {@code null} where it keeps none (or its newest record of
     * the pipeline is a starting point, which the progress row holds). Where this is not null for
     * every applied transaction, a transaction's own record says it is applied and the progress row
     * need not move in each one (see {@link ReplicaSession#claim}).
     */
    default io.pgdolt.txn.Lsn recordedLsn(Connection connection, String pipelineId)
            throws SQLException {
        return null;
    }

    /**
     * Whether every applied transaction records itself in the replica's history ({@link
     * #recordedLsn}), so that a committer holding the pipeline's lock on the replica moves the
     * progress row once per run of transactions instead of in each.
     */
    default boolean recordsEachTransaction() {
        return false;
    }
}
