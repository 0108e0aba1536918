package io.pgdolt.source;

import io.pgdolt.replica.TableDefinition;
import io.pgdolt.txn.TableId;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The tables a pipeline replicates, read from the primary's catalog at start-up: for each, the
 * columns the primary publishes (name to SQL type, in table order) and how its rows are identified
 * (replica identity). Change events are checked against it, so a column the connector cannot decode
 * — which Debezium silently leaves out of the event — stops the job instead of leaving the
 * replica's column stale.
 */
public record SourceTables(Map<TableId, Table> byId) implements Serializable {

    /**
     * One published table.
     *
     * @param definition its published columns, types, NOT NULL, key and enum types, as the replica
     *     side checks and creates tables from them
     * @param identity the columns that identify a row in UPDATE and DELETE: the replica identity
     *     index or the primary key; empty without either (then FULL means the whole old row)
     * @param fullIdentity REPLICA IDENTITY FULL
     */
    public record Table(TableDefinition definition, List<String> identity, boolean fullIdentity)
            implements Serializable {
        public Table {
            identity = List.copyOf(identity);
        }

        /** Published column name to SQL type, in table order. */
        public Map<String, String> columns() {
            return definition.columns();
        }
    }

    public SourceTables {
        byId = Map.copyOf(byId);
    }

    /** The replicated tables, sorted. */
    public List<TableId> tables() {
        return byId.keySet().stream().sorted().toList();
    }
}
