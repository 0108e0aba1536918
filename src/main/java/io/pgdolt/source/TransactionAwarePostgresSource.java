package io.pgdolt.source;

import org.apache.flink.cdc.connectors.base.config.SourceConfig;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceRecords;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitState;
import org.apache.flink.cdc.connectors.base.source.metrics.SourceReaderMetrics;
import org.apache.flink.cdc.connectors.postgres.source.PostgresSourceBuilder;
import org.apache.flink.cdc.connectors.postgres.source.config.PostgresSourceConfigFactory;
import org.apache.flink.cdc.connectors.postgres.source.offset.PostgresOffsetFactory;
import org.apache.flink.cdc.debezium.DebeziumDeserializationSchema;
import org.apache.flink.connector.base.source.reader.RecordEmitter;

/**
 * The Flink CDC incremental Postgres source with {@link TransactionRecordEmitter} installed, so
 * transaction END markers reach the deserializer.
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
}
