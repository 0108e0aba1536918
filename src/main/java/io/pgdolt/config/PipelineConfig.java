package io.pgdolt.config;

import io.pgdolt.txn.TableId;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;

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

    /**
     * The replica, how commits are recorded on it, and how its schema may follow the primary's.
     *
     * @param createTables create replica tables missing at start-up from the primary's catalog
     * @param addColumns carry ADD COLUMN on the primary to the replica while running
     * @param typeMapping primary type catalog name (e.g. {@code inet}) to the replica type that
     *     holds its values as text ({@code text}), for types the replica lacks
     */
    public record Replica(
            ReplicaKind kind,
            String url,
            String user,
            Secret password,
            boolean doltCommitPerTransaction,
            String author,
            boolean createTables,
            boolean addColumns,
            Map<String, String> typeMapping)
            implements Serializable {
        public Replica {
            typeMapping = Map.copyOf(typeMapping);
        }
    }

    /** Job-level settings. */
    public record Pipeline(
            String id,
            Duration checkpointInterval,
            int parallelism,
            int slotConfirmDelayCheckpoints,
            String checkpointDir)
            implements Serializable {}
}
