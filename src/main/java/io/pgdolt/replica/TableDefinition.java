package io.pgdolt.replica;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A replicated table as the primary's catalog defines it, for checking the replica's table against
 * it and, with {@code replica.create_tables}, creating it.
 *
 * @param columns published column name to its type as {@code format_type} prints it, in table order
 * @param typeNames published column name to the type's catalog name ({@code int4}, {@code _text},
 *     an enum's name; a domain's base type)
 * @param ddlTypes published column name to the type a created replica column gets: the primary's,
 *     except that a domain becomes its base type (the primary enforces the domain's constraints)
 * @param notNull the columns declared NOT NULL
 * @param primaryKey the primary key columns in key order, empty without one
 * @param enums per enum type used (as {@code format_type} prints it), its labels in order
 */
public record TableDefinition(
        LinkedHashMap<String, String> columns,
        Map<String, String> typeNames,
        Map<String, String> ddlTypes,
        Set<String> notNull,
        List<String> primaryKey,
        Map<String, List<String>> enums)
        implements Serializable {
    public TableDefinition {
        columns = new LinkedHashMap<>(columns);
        typeNames = Map.copyOf(typeNames);
        ddlTypes = Map.copyOf(ddlTypes);
        notNull = Set.copyOf(notNull);
        primaryKey = List.copyOf(primaryKey);
        enums = Map.copyOf(enums);
    }
}
