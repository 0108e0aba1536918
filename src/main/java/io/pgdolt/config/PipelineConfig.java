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
public record PipelineConfig(Primary primary, Replica replica, Pipeline pipeline, Startup startup)
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
            Duration heartbeatInterval,
            String sslMode,
            String sslRootCert)
            implements Serializable {
        public Primary {
            tables = List.copyOf(tables);
        }

        /**
         * A pgjdbc URL for plain SQL connections to the primary, with the TLS settings ({@code
         * sslMode} and {@code sslRootCert} may be null: pgjdbc's defaults).
         */
        public String jdbcUrl() {
            StringBuilder url =
                    new StringBuilder("jdbc:postgresql://")
                            .append(host)
                            .append(":")
                            .append(port)
                            .append("/")
                            .append(database);
            char sep = '?';
            if (sslMode != null) {
                url.append(sep).append("sslmode=").append(sslMode);
                sep = '&';
            }
            if (sslRootCert != null) {
                url.append(sep)
                        .append("sslrootcert=")
                        .append(
                                java.net.URLEncoder.encode(
                                        sslRootCert, java.nio.charset.StandardCharsets.UTF_8));
            }
            return url.toString();
        }

        /**
         * pgjdbc properties for a connection to the primary: credentials, a 10 s connect timeout
         * and {@code applicationName} (shown in {@code pg_stat_activity}).
         */
        public java.util.Properties jdbcProperties(String applicationName) {
            java.util.Properties props = new java.util.Properties();
            props.setProperty("user", user);
            props.setProperty("password", password.reveal());
            props.setProperty("connectTimeout", "10");
            props.setProperty("ApplicationName", applicationName);
            return props;
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
     * @param commitGranularity one replica transaction (and Dolt commit) per source transaction, or
     *     per checkpoint
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
            Map<String, String> typeMapping,
            CommitGranularity commitGranularity)
            implements Serializable {
        public Replica {
            typeMapping = Map.copyOf(typeMapping);
        }
    }

    /** How many source transactions one replica transaction (and Dolt commit) holds. */
    public enum CommitGranularity {
        /** One per source transaction: the default, and the history users browse. */
        TRANSACTION,
        /**
         * One per completed checkpoint, holding every source transaction of it in commit order; its
         * Dolt commit message lists their xids and LSN range. Faster; still atomic and exactly-once
         * per checkpoint.
         */
        CHECKPOINT
    }

    /** Job-level settings. */
    public record Pipeline(
            String id,
            Duration checkpointInterval,
            int parallelism,
            int slotConfirmDelayCheckpoints,
            String checkpointDir)
            implements Serializable {}

    /** Where a pipeline without Flink state and without progress on the replica starts. */
    public enum StartupMode {
        /** Snapshot the published tables into the replica, then stream from that point. */
        INITIAL,
        /**
         * Stream from the slot's confirmed position; the replica's tables are taken as they are.
         */
        STREAM_ONLY,
        /** The replica was loaded up to an LSN by other means: stream the changes after it. */
        FROM_LSN
    }

    /**
     * How the pipeline starts when neither Flink state nor replica progress says where it is.
     *
     * @param lsn for {@link StartupMode#FROM_LSN}: the first commit position to apply, or null when
     *     it is read from {@code walLocationFile}
     * @param walLocationFile for {@link StartupMode#FROM_LSN}: Doltgres's {@code
     *     .doltcfg/pg_wal_location} file holding the LSN, or null
     * @param snapshotParallelism connections per side used by the initial snapshot
     * @param snapshotChunkRows about how many rows one snapshot chunk holds
     */
    public record Startup(
            StartupMode mode,
            io.pgdolt.txn.Lsn lsn,
            String walLocationFile,
            int snapshotParallelism,
            int snapshotChunkRows)
            implements Serializable {}
}
