package io.pgdolt.source;

import io.pgdolt.txn.TableId;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
     * @param columns published column name to SQL type (as {@code format_type} prints it), in table
     *     order
     * @param typeNames published column name to the type's catalog name ({@code int4}, {@code
     *     _text}, an enum's name), for comparing with the replica
     * @param identity the columns that identify a row in UPDATE and DELETE: the replica identity
     *     index or the primary key; empty without either (then FULL means the whole old row)
     * @param fullIdentity REPLICA IDENTITY FULL
     * @param ddlTypes published column name to the type a created replica column gets (a domain's
     *     base type for a domain)
     * @param notNull the published columns declared NOT NULL
     * @param primaryKey the primary key columns in key order; empty without one
     * @param enums per enum type used by a column (as {@code format_type} prints it), its labels in
     *     order
     */
    public record Table(
            LinkedHashMap<String, String> columns,
            Map<String, String> typeNames,
            List<String> identity,
            boolean fullIdentity,
            Map<String, String> ddlTypes,
            Set<String> notNull,
            List<String> primaryKey,
            Map<String, List<String>> enums)
            implements Serializable {
        public Table {
            identity = List.copyOf(identity);
            typeNames = Map.copyOf(typeNames);
            ddlTypes = Map.copyOf(ddlTypes);
            notNull = Set.copyOf(notNull);
            primaryKey = List.copyOf(primaryKey);
            enums = Map.copyOf(enums);
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
