package io.pgdolt.source;

import java.io.IOException;
import java.util.HashMap;
import org.apache.flink.cdc.connectors.base.config.SourceConfig;
import org.apache.flink.cdc.connectors.base.source.meta.offset.OffsetFactory;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceRecords;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitBase;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitSerializer;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitState;
import org.apache.flink.cdc.connectors.base.source.meta.split.StreamSplit;
import org.apache.flink.cdc.connectors.base.source.metrics.SourceReaderMetrics;
import org.apache.flink.cdc.connectors.postgres.source.PostgresSourceBuilder;
import org.apache.flink.cdc.connectors.postgres.source.config.PostgresSourceConfigFactory;
import org.apache.flink.cdc.connectors.postgres.source.offset.PostgresOffsetFactory;
import org.apache.flink.cdc.debezium.DebeziumDeserializationSchema;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The Flink CDC incremental Postgres source with {@link TransactionRecordEmitter} installed, so
 * transaction END markers reach the deserializer, and with stream splits that carry no table
 * schemas, even when restored from state written by an earlier version (see {@link
 * TlsPostgresDialect#discoverDataCollectionSchemas}).
 */
final class TransactionAwarePostgresSource<T>
        extends PostgresSourceBuilder.PostgresIncrementalSource<T> {
    private static final long serialVersionUID = 1L;

    TransactionAwarePostgresSource(
            PostgresSourceConfigFactory configFactory,
            DebeziumDeserializationSchema<T> deserializer) {
        super(
                configFactory,
                deserializer,
                new PostgresOffsetFactory(),
                new TlsPostgresDialect(configFactory.create(0)));
    }

    @Override
    protected RecordEmitter<SourceRecords, T, SourceSplitState> createRecordEmitter(
            SourceConfig sourceConfig, SourceReaderMetrics sourceReaderMetrics) {
        // Called where the reader runs, before any split is fetched.
        ConnectorLogGuard.apply();
        return new TransactionRecordEmitter<>(
                deserializationSchema, sourceReaderMetrics, offsetFactory);
    }

    @Override
    public SimpleVersionedSerializer<SourceSplitBase> getSplitSerializer() {
        return new SchemaFreeSplitSerializer(offsetFactory);
    }

    /** Reads stream splits without the table schemas an earlier version may have stored. */
    static final class SchemaFreeSplitSerializer extends SourceSplitSerializer {
        private final OffsetFactory offsetFactory;

        SchemaFreeSplitSerializer(OffsetFactory offsetFactory) {
            this.offsetFactory = offsetFactory;
        }

        @Override
        public OffsetFactory getOffsetFactory() {
            return offsetFactory;
        }

        @Override
        public SourceSplitBase deserialize(int version, byte[] serialized) throws IOException {
            SourceSplitBase split = super.deserialize(version, serialized);
            if (!split.isStreamSplit() || split.asStreamSplit().getTableSchemas().isEmpty()) {
                return split;
            }
            StreamSplit s = split.asStreamSplit();
            return new StreamSplit(
                    s.splitId(),
                    s.getStartingOffset(),
                    s.getEndingOffset(),
                    s.getFinishedSnapshotSplitInfos(),
                    new HashMap<>(),
                    s.getTotalFinishedSplitSize(),
                    s.isSuspended(),
                    s.isSnapshotCompleted());
        }
    }
}
