package io.pgdolt.source;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.cdc.connectors.base.source.meta.offset.OffsetFactory;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitState;
import org.apache.flink.cdc.connectors.base.source.metrics.SourceReaderMetrics;
import org.apache.flink.cdc.connectors.base.source.reader.IncrementalSourceRecordEmitter;
import org.apache.flink.cdc.connectors.base.utils.SourceRecordUtils;
import org.apache.flink.cdc.debezium.DebeziumDeserializationSchema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Record emitter that lets transaction END markers reach the deserializer, so a transaction is
 * known complete the moment the primary commits it.
 *
 * <p>The stock emitter drops Debezium's transaction records. Two rules keep restores exact:
 *
 * <ul>
 *   <li>The split's checkpointed offset is only ever taken from data records. An END (and a
 *       heartbeat) sits at the commit LSN, which the next transaction's first change may share;
 *       Debezium 1.9 would skip that change when resuming from such an offset.
 *   <li>The {@code transaction_*} keys that transaction metadata adds to offsets are stripped
 *       before the offset is kept: restoring them crashes Debezium (ClassCastException).
 * </ul>
 *
 * <p>Called by the source reader's single fetch thread; not thread-safe.
 */
final class TransactionRecordEmitter<T> extends IncrementalSourceRecordEmitter<T> {
    static final String TRANSACTION_VALUE_SCHEMA_SUFFIX = "TransactionMetadataValue";
    private static final String OFFSET_TRANSACTION_PREFIX = "transaction_";

    TransactionRecordEmitter(
            DebeziumDeserializationSchema<T> deserializer,
            SourceReaderMetrics metrics,
            OffsetFactory offsetFactory) {
        super(deserializer, metrics, false, offsetFactory);
    }

    @Override
    protected void processElement(
            SourceRecord element, SourceOutput<T> output, SourceSplitState splitState)
            throws Exception {
        if (isTransactionEnd(element)) {
            // Forward without touching the split offset (see class comment).
            outputCollector.output = output;
            outputCollector.currentMessageTimestamp = null;
            debeziumDeserializationSchema.deserialize(element, outputCollector);
        } else if (isTransactionRecord(element)) {
            // BEGIN carries nothing we need; it can repeat after a restore.
        } else if (SourceRecordUtils.isDataChangeRecord(element)) {
            if (splitState.isStreamSplitState()) {
                splitState
                        .asStreamSplitState()
                        .setStartingOffset(getOffsetPosition(withoutTransactionKeys(element)));
            }
            reportMetrics(element);
            emitElement(element, output);
        } else if (SourceRecordUtils.isHeartbeatEvent(element)) {
            // A heartbeat's position is a commit LSN too: never keep it as the split offset.
        } else {
            super.processElement(element, output, splitState);
        }
    }

    static boolean isTransactionRecord(SourceRecord record) {
        return record.valueSchema() != null
                && record.valueSchema().name() != null
                && record.valueSchema().name().endsWith(TRANSACTION_VALUE_SCHEMA_SUFFIX);
    }

    static boolean isTransactionEnd(SourceRecord record) {
        return isTransactionRecord(record)
                && "END".equals(((Struct) record.value()).getString("status"));
    }

    static Map<String, ?> withoutTransactionKeys(SourceRecord record) {
        Map<String, Object> offset = new HashMap<>(record.sourceOffset());
        offset.keySet().removeIf(k -> k.startsWith(OFFSET_TRANSACTION_PREFIX));
        return offset;
    }
}
