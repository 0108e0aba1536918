package io.pgdolt.config;

import io.pgdolt.txn.TableId;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/**
 * The validated configuration of one replication pipeline. Immutable; built by {@link
 * ConfigLoader}, which checks every value. {@code toString()} never shows passwords.
 */
public record PipelineConfig(Primary primary, Replica replica, Pipeline pipeline)
        implements Serializable {

    /** The source: Doltgres's {@code postgres_replication} stanza plus our additions. */
    public record Primary(
            String host,
            int port,
            String user,
            Secret password,
            String database,
            String slotName,
            String publicationName,
            List<TableId> tables,
            Duration heartbeatInterval)
            implements Serializable {
        public Primary {
            tables = List.copyOf(tables);
        }

        /** A pgjdbc URL for plain SQL connections to the primary. */
        public String jdbcUrl() {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database;
        }
    }

    /** Kind of replica server. */
    public enum ReplicaKind {
        DOLTGRES,
        POSTGRES
    }

    /** The replica and how commits are recorded on it. */
    public record Replica(
            ReplicaKind kind,
            String url,
            String user,
            Secret password,
            boolean doltCommitPerTransaction,
            String author)
            implements Serializable {}

    /** Job-level settings. */
    public record Pipeline(
            String id,
            Duration checkpointInterval,
            int parallelism,
            int slotConfirmDelayCheckpoints,
            String checkpointDir)
            implements Serializable {}
}
