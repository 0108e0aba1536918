package io.pgdolt.source;

import io.pgdolt.txn.TableId;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tables a pipeline replicates, each with the columns the primary publishes for it (name to SQL
 * type, in table order), read from the primary's catalog at start-up. Change events are checked
 * against it, so a column the connector cannot decode — which Debezium silently leaves out of the
 * event — stops the job instead of leaving the replica's column stale.
 */
public record SourceTables(Map<TableId, LinkedHashMap<String, String>> columns)
        implements Serializable {

    public SourceTables {
        columns = Map.copyOf(columns);
    }

    /** The replicated tables, sorted. */
    public List<TableId> tables() {
        return columns.keySet().stream().sorted().toList();
    }
}
