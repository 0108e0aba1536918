package io.pgdolt.job;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.replica.TableDefinition;
import io.pgdolt.sink.ReplicaSink;
import io.pgdolt.snapshot.StartPosition;
import io.pgdolt.snapshot.StartReport;
import io.pgdolt.source.PostgresCdcSource;
import io.pgdolt.source.SourceTables;
import io.pgdolt.txn.Assembled;
import io.pgdolt.txn.ChangeEvent;
import io.pgdolt.txn.CodecTypeInfo;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.TableId;
import io.pgdolt.txn.TransactionAssembler;
import io.pgdolt.txn.TransactionBoundary;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the replication job graph; separate from running it, so tests build exactly the graph that
 * {@link Main} runs.
 *
 * <p>Operator uids are part of the savepoint format: never change them.
 */
public final class PipelineBuilder {
    public static final String SOURCE_UID = "pgdolt-source";
    public static final String BOUNDARY_UID = "pgdolt-txn-boundary";
    public static final String ASSEMBLER_UID = "pgdolt-txn-assembler";
    public static final String SINK_UID = "pgdolt-replica-sink";

    /**
     * Max parallelism of every operator, fixed so that savepoints restore whatever the parallelism
     * and the operator chaining: Flink records an operator's max parallelism from its chain, and a
     * parallelism-1 step chained to a parallelism-1 source (128, Flink's default) but unchained at
     * parallelism 2 would otherwise no longer match its savepoint. Also the upper bound of {@code
     * pipeline.parallelism}.
     */
    public static final int MAX_PARALLELISM = 128;

    private static final Logger LOG = LoggerFactory.getLogger(PipelineBuilder.class);

    private PipelineBuilder() {}

    /**
     * Adds the pipeline to {@code env} and sets the checkpointing it depends on. Without Flink
     * state to restore, first brings the replica to the pipeline's starting point ({@link
     * StartPosition}): this may load the initial snapshot, and refuses a start that would leave a
     * gap.
     *
     * @param restoring the job will be restored from a checkpoint or savepoint
     */
    public static void build(
            StreamExecutionEnvironment env, PipelineConfig config, boolean restoring) {
        configureCheckpointing(env, config);
        if (config.groups().isEmpty()) {
            buildStream(
                    env, config, PostgresCdcSource.checkPrimary(config.primary()), "", restoring);
            return;
        }
        // Fail fast on every group's publication before touching any replica.
        List<PipelineConfig> streams = config.streams();
        List<SourceTables> published = new ArrayList<>();
        for (PipelineConfig stream : streams) {
            published.add(PostgresCdcSource.checkPrimary(stream.primary()));
        }
        checkDisjoint(config.groups(), published);
        for (int i = 0; i < streams.size(); i++) {
            buildStream(
                    env,
                    streams.get(i),
                    published.get(i),
                    "-" + config.groups().get(i).name(),
                    restoring);
        }
    }

    /**
     * A table in two groups would be applied twice, in no defined order: refused, naming the table
     * and both groups.
     */
    static void checkDisjoint(List<PipelineConfig.Group> groups, List<SourceTables> published) {
        Map<TableId, String> owner = new HashMap<>();
        for (int i = 0; i < groups.size(); i++) {
            String name = groups.get(i).name();
            for (TableId t : published.get(i).tables()) {
                String other = owner.putIfAbsent(t, name);
                if (other != null) {
                    throw new ConfigException(
                            "table "
                                    + t
                                    + " is in replication groups '"
                                    + other
                                    + "' and '"
                                    + name
                                    + "': each table must belong to one group (check the"
                                    + " groups' publications and tables)");
                }
            }
        }
    }

    /**
     * One ordered apply stream: source, transaction boundary, assembler and sink, with uids ending
     * in {@code uidSuffix} (empty without groups, so that older savepoints restore).
     */
    private static void buildStream(
            StreamExecutionEnvironment env,
            PipelineConfig config,
            SourceTables published,
            String uidSuffix,
            boolean restoring) {
        int parallelism = config.pipeline().parallelism();
        // Fail fast, before submitting anything, on what would otherwise fail inside the job.
        List<TableId> tables = published.tables();
        Map<TableId, TableDefinition> definitions = new HashMap<>();
        published.byId().forEach((t, info) -> definitions.put(t, info.definition()));
        Lsn applied = ReplicaSink.checkReplica(config, definitions);
        LOG.info(
                "pipeline {}: replicating {} table(s); the replica holds this pipeline's"
                        + " transactions up to commit LSN {}",
                config.pipeline().id(),
                tables.size(),
                applied);
        StartReport start = StartPosition.prepare(config, published, restoring);
        DataStream<ChangeEvent> changes =
                env.fromSource(
                                PostgresCdcSource.create(config, published),
                                WatermarkStrategy.noWatermarks(),
                                "postgres-cdc " + config.primary().slotName())
                        .uid(SOURCE_UID + uidSuffix)
                        .setParallelism(parallelism)
                        .setMaxParallelism(MAX_PARALLELISM);
        String suffix = uidSuffix.isEmpty() ? "" : " " + uidSuffix.substring(1);
        DataStream<Assembled> transactions =
                changes.process(new TransactionBoundary(), CodecTypeInfo.CHANGE_EVENT)
                        .name("transaction-boundary" + suffix)
                        .uid(BOUNDARY_UID + uidSuffix)
                        // One subtask sees every event in source order (DESIGN.md).
                        .setParallelism(1)
                        .setMaxParallelism(MAX_PARALLELISM)
                        .keyBy(new TransactionKey(), Types.TUPLE(Types.LONG, Types.LONG))
                        .process(
                                new TransactionAssembler(
                                        config.pipeline().transactionChunkRows(),
                                        TransactionAssembler.DEFAULT_CHUNK_BYTES),
                                CodecTypeInfo.ASSEMBLED)
                        .name("transaction-assembler" + suffix)
                        .uid(ASSEMBLER_UID + uidSuffix)
                        .setParallelism(parallelism)
                        .setMaxParallelism(MAX_PARALLELISM);
        transactions
                .sinkTo(ReplicaSink.of(config, start))
                .name("replica-sink " + config.replica().kind().name().toLowerCase() + suffix)
                .uid(SINK_UID + uidSuffix)
                // One ordered apply stream: one committer.
                .setParallelism(1)
                .setMaxParallelism(MAX_PARALLELISM)
                .disableChaining();
    }

    private static void configureCheckpointing(
            StreamExecutionEnvironment env, PipelineConfig config) {
        env.enableCheckpointing(
                config.pipeline().checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
        CheckpointConfig cc = env.getCheckpointConfig();
        // Aligned checkpoints order transactions across the assembler's subtasks (DESIGN.md).
        cc.enableUnalignedCheckpoints(false);
        cc.setMaxConcurrentCheckpoints(1);
        cc.setTolerableCheckpointFailureNumber(3);
        // Keep the last checkpoint when the job is cancelled, so it can be resumed from.
        cc.setExternalizedCheckpointRetention(
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        if (config.pipeline().checkpointDir() != null) {
            cc.setCheckpointStorage(config.pipeline().checkpointDir());
        }
    }

    /** Keys events by source transaction: (xid, previous commit LSN). */
    static final class TransactionKey implements KeySelector<ChangeEvent, Tuple2<Long, Long>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple2<Long, Long> getKey(ChangeEvent e) {
            return Tuple2.of(e.xid(), e.prevCommitLsn());
        }
    }
}
