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
public record PipelineConfig(
        Primary primary, Replica replica, Pipeline pipeline, Startup startup, List<Group> groups)
        implements Serializable {

    public PipelineConfig {
        groups = List.copyOf(groups);
    }

    /** A pipeline with one ordered apply stream: no replication groups. */
    public PipelineConfig(Primary primary, Replica replica, Pipeline pipeline, Startup startup) {
        this(primary, replica, pipeline, startup, List.of());
    }

    /**
     * The ordered apply streams of this configuration: itself when it has no groups, else one
     * configuration per group ({@link #forGroup}).
     */
    public List<PipelineConfig> streams() {
        if (groups.isEmpty()) {
            return List.of(this);
        }
        return groups.stream().map(this::forGroup).toList();
    }

    /**
     * The configuration of one replication group as a pipeline of its own: the group's slot,
     * publication and tables, its replica URL when it has one, and the pipeline id {@code
     * <pipeline.id>.<group name>} under which the replica records its progress.
     */
    public PipelineConfig forGroup(Group g) {
        Primary p =
                new Primary(
                        primary.host,
                        primary.port,
                        primary.user,
                        primary.password,
                        primary.database,
                        g.slotName,
                        g.publicationName,
                        g.tables,
                        primary.heartbeatInterval,
                        primary.sslMode,
                        primary.sslRootCert,
                        "groups[" + g.name + "]");
        Replica r =
                g.replicaUrl == null
                        ? replica
                        : new Replica(
                                replica.kind,
                                g.replicaUrl,
                                replica.user,
                                replica.password,
                                replica.doltCommitPerTransaction,
                                replica.author,
                                replica.createTables,
                                replica.addColumns,
                                replica.typeMapping,
                                replica.commitGranularity);
        Pipeline pl =
                new Pipeline(
                        pipeline.id + "." + g.name,
                        pipeline.checkpointInterval,
                        pipeline.parallelism,
                        pipeline.slotConfirmDelayCheckpoints,
                        pipeline.checkpointDir,
                        pipeline.transactionChunkRows);
        return new PipelineConfig(p, r, pl, startup, List.of());
    }

    /**
     * A replication group: a subset of the primary's tables with its own publication, slot and
     * ordered apply stream, run in parallel with the other groups in one job.
     *
     * @param name lower-case letters, digits and _; part of the group's operator uids and pipeline
     *     id
     * @param tables the group's tables, or empty for every table of its publication
     * @param replicaUrl the group's replica database, or null for {@code replica.url}
     */
    public record Group(
            String name,
            String slotName,
            String publicationName,
            List<TableId> tables,
            String replicaUrl)
            implements Serializable {
        public Group {
            tables = List.copyOf(tables);
        }
    }

    /**
     * The source: Doltgres's {@code postgres_replication} stanza plus our additions.
     *
     * @param section where the slot, publication and tables are configured ({@code
     *     postgres_replication}, or {@code groups[name]} for a replication group): errors name
     *     those keys through {@link #key}
     */
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
            String sslRootCert,
            String section)
            implements Serializable {
        public Primary {
            tables = List.copyOf(tables);
        }

        /** The full name of configuration key {@code name} of the slot's section. */
        public String key(String name) {
            return section + "." + name;
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

    /**
     * Job-level settings.
     *
     * @param transactionChunkRows a source transaction with more row changes than this is staged on
     *     the replica in chunks of this many while it streams, instead of passing through
     *     checkpoint state whole
     */
    public record Pipeline(
            String id,
            Duration checkpointInterval,
            int parallelism,
            int slotConfirmDelayCheckpoints,
            String checkpointDir,
            int transactionChunkRows)
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
