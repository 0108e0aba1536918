package io.pgdolt.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.debezium.relational.Column;
import io.debezium.relational.Table;
import io.debezium.relational.TableId;
import io.debezium.relational.history.TableChanges.TableChange;
import io.debezium.relational.history.TableChanges.TableChangeType;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.cdc.connectors.base.source.meta.offset.OffsetFactory;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitBase;
import org.apache.flink.cdc.connectors.base.source.meta.split.SourceSplitSerializer;
import org.apache.flink.cdc.connectors.base.source.meta.split.StreamSplit;
import org.apache.flink.cdc.connectors.postgres.source.offset.PostgresOffsetFactory;
import org.junit.jupiter.api.Test;

class SchemaFreeSplitSerializerTest {
    private final OffsetFactory offsets = new PostgresOffsetFactory();

    /** State written before the fix: the stream split carries the schemas Flink CDC discovered. */
    @Test
    void dropsTheTableSchemasOfARestoredStreamSplitAndKeepsItsPosition() throws Exception {
        TableId id = new TableId(null, "public", "orders");
        Table table =
                Table.editor()
                        .tableId(id)
                        .addColumn(
                                Column.editor()
                                        .name("id")
                                        .type("int8")
                                        .jdbcType(Types.BIGINT)
                                        .optional(false)
                                        .create())
                        .setPrimaryKeyNames("id")
                        .create();
        Map<TableId, TableChange> schemas = new HashMap<>();
        schemas.put(id, new TableChange(TableChangeType.CREATE, table));
        Map<String, String> offset = new HashMap<>();
        offset.put("lsn", "253364080");
        offset.put("lsn_proc", "253364080");
        offset.put("lsn_commit", "253363200");
        offset.put("txId", "55948");
        offset.put("ts_usec", "1795721694792907");
        StreamSplit written = streamSplit(offset, schemas);
        SourceSplitSerializer stock =
                new SourceSplitSerializer() {
                    @Override
                    public OffsetFactory getOffsetFactory() {
                        return offsets;
                    }
                };
        byte[] bytes = stock.serialize(written);
        assertThat(stock.deserialize(stock.getVersion(), bytes).getTableSchemas()).containsKey(id);

        SourceSplitBase read =
                new TransactionAwarePostgresSource.SchemaFreeSplitSerializer(offsets)
                        .deserialize(stock.getVersion(), bytes);

        StreamSplit split = read.asStreamSplit();
        assertThat(split.getTableSchemas()).isEmpty();
        assertThat(split.splitId()).isEqualTo(StreamSplit.STREAM_SPLIT_ID);
        assertThat(split.getStartingOffset().getOffset()).isEqualTo(offset);
        assertThat(split.getEndingOffset()).isEqualTo(offsets.createNoStoppingOffset());
        assertThat(split.isSuspended()).isFalse();
        assertThat(split.isCompletedSplit()).isTrue();
    }

    @Test
    void readsASplitWithoutSchemasUnchanged() throws Exception {
        TransactionAwarePostgresSource.SchemaFreeSplitSerializer serializer =
                new TransactionAwarePostgresSource.SchemaFreeSplitSerializer(offsets);
        Map<String, String> offset = new HashMap<>();
        offset.put("lsn", "1000");
        StreamSplit split = streamSplit(offset, new HashMap<>());
        SourceSplitBase read =
                serializer.deserialize(serializer.getVersion(), serializer.serialize(split));
        assertThat(read).isEqualTo(split);
    }

    private StreamSplit streamSplit(Map<String, String> offset, Map<TableId, TableChange> schemas) {
        return new StreamSplit(
                StreamSplit.STREAM_SPLIT_ID,
                offsets.newOffset(offset),
                offsets.createNoStoppingOffset(),
                new ArrayList<>(),
                schemas,
                0,
                false,
                false);
    }
}
