package io.pgdolt.sink;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.config.Secret;
import io.pgdolt.replica.DoltgresDialect;
import io.pgdolt.replica.PostgresDialect;
import io.pgdolt.replica.ReplicaDialect;
import io.pgdolt.replica.ReplicaSchemaException;
import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.replica.SchemaPolicy;
import io.pgdolt.replica.TableDefinition;
import io.pgdolt.snapshot.StartReport;
import io.pgdolt.txn.Assembled;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.TableId;
import java.io.Serializable;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Exactly-once sink of source transactions into a replica (Doltgres or PostgreSQL): a writer that
 * turns each checkpoint's transactions into committables, and a committer that applies them once
 * the checkpoint is complete. Must run with parallelism 1 (one ordered apply stream).
 */
public final class ReplicaSink
        implements Sink<Assembled>, SupportsCommitter<TransactionCommittable> {
    private static final long serialVersionUID = 1L;

    private final SessionFactory sessions;
    private final Duration retryTimeout;
    private final boolean perCheckpoint;
    private final PipelineConfig.Primary primary;
    private final StartReport start;

    private ReplicaSink(
            SessionFactory sessions,
            Duration retryTimeout,
            boolean perCheckpoint,
            PipelineConfig.Primary primary,
            StartReport start) {
        this.sessions = sessions;
        this.retryTimeout = retryTimeout;
        this.perCheckpoint = perCheckpoint;
        this.primary = primary;
        this.start = start;
    }

    /** The sink for a pipeline's configuration. */
    public static ReplicaSink of(PipelineConfig config) {
        return of(config, StartReport.NONE);
    }

    /** The sink for a pipeline's configuration; {@code start} feeds the snapshot gauges. */
    public static ReplicaSink of(PipelineConfig config, StartReport start) {
        PipelineConfig.Replica r = config.replica();
        return new ReplicaSink(
                new SessionFactory(
                        r.url(),
                        r.user(),
                        r.password(),
                        dialect(config),
                        config.pipeline().id(),
                        new SchemaPolicy(r.createTables(), r.addColumns(), r.typeMapping())),
                Duration.ofMinutes(10),
                r.commitGranularity() == PipelineConfig.CommitGranularity.CHECKPOINT,
                config.primary(),
                start);
    }

    /** The replica dialect the configuration asks for. */
    public static ReplicaDialect dialect(PipelineConfig config) {
        PipelineConfig.Replica r = config.replica();
        return r.kind() == PipelineConfig.ReplicaKind.DOLTGRES
                ? new DoltgresDialect(r.doltCommitPerTransaction(), r.author())
                : new PostgresDialect();
    }

    /** A session on the replica as the committer opens it. */
    public static ReplicaSession openSession(PipelineConfig config) throws SQLException {
        return of(config).sessions.open();
    }

    /**
     * Start-up check, before anything runs: the replica is reachable with the configured
     * credentials, holds the progress table (created if missing) and every table to replicate.
     *
     * @return the commit LSN this pipeline has applied so far
     * @throws ConfigException saying what is wrong
     */
    public static Lsn checkReplica(PipelineConfig config, Map<TableId, TableDefinition> tables) {
        SessionFactory sessions = of(config).sessions;
        try (ReplicaSession session = sessions.open()) {
            session.checkSchema(tables);
            return session.appliedLsn();
        } catch (ReplicaSchemaException e) {
            throw new ConfigException(e.getMessage(), e);
        } catch (SQLException e) {
            throw new ConfigException(
                    "replica.url: cannot use the replica at "
                            + io.pgdolt.config.ConfigLoader.redactUrl(config.replica().url())
                            + " as "
                            + config.replica().user()
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    @Override
    @Deprecated
    public CommittingSinkWriter<Assembled, TransactionCommittable> createWriter(
            InitContext context) {
        return new TransactionWriter(new ChunkStager(sessions, retryTimeout));
    }

    @Override
    public CommittingSinkWriter<Assembled, TransactionCommittable> createWriter(
            WriterInitContext context) {
        return new TransactionWriter(new ChunkStager(sessions, retryTimeout));
    }

    @Override
    public Committer<TransactionCommittable> createCommitter(CommitterInitContext context) {
        return new ReplicaCommitter(
                sessions,
                retryTimeout,
                perCheckpoint,
                new SinkMetrics(context.metricGroup(), primary, start));
    }

    @Override
    public SimpleVersionedSerializer<TransactionCommittable> getCommittableSerializer() {
        return new TransactionCommittableSerializer();
    }

    /** Opens replica sessions; serializable so it travels with the job graph. */
    static final class SessionFactory implements Serializable {
        private static final long serialVersionUID = 1L;

        private final String url;
        private final String user;
        private final Secret password;
        private final ReplicaDialect dialect;
        private final String pipelineId;
        private final SchemaPolicy policy;

        SessionFactory(
                String url,
                String user,
                Secret password,
                ReplicaDialect dialect,
                String pipelineId,
                SchemaPolicy policy) {
            this.url = url;
            this.user = user;
            this.password = password;
            this.dialect = dialect;
            this.pipelineId = pipelineId;
            this.policy = policy;
        }

        ReplicaSession open() throws SQLException {
            return ReplicaSession.open(url, user, password, dialect, pipelineId, policy);
        }

        /** A plain connection (autocommit), for staging chunks. */
        java.sql.Connection connect() throws SQLException {
            return ReplicaSession.connect(url, user, password, pipelineId);
        }

        String pipelineId() {
            return pipelineId;
        }
    }
}
