package io.pgdolt.replica;

import java.io.Serializable;
import java.util.Map;

/**
 * How the replica's schema may follow the primary's.
 *
 * @param createTables create replica tables missing at start-up from the primary's catalog
 * @param addColumns carry ADD COLUMN on the primary to the replica while running
 * @param typeMapping primary type catalog name to the replica type holding its values as text, for
 *     types the replica lacks ({@code inet: text})
 */
public record SchemaPolicy(
        boolean createTables, boolean addColumns, Map<String, String> typeMapping)
        implements Serializable {

    /** Nothing is created or added, and no type is mapped. */
    public static final SchemaPolicy STRICT = new SchemaPolicy(false, false, Map.of());

    public SchemaPolicy {
        typeMapping = Map.copyOf(typeMapping);
    }

    /**
     * The catalog name of the replica type for a primary type: its mapping (an array of a mapped
     * type maps to an array of the target), or the type itself.
     */
    public String replicaTypeName(String primaryTypeName) {
        String mapped = typeMapping.get(primaryTypeName);
        if (mapped != null) {
            return mapped;
        }
        if (primaryTypeName.startsWith("_")) {
            mapped = typeMapping.get(primaryTypeName.substring(1));
            if (mapped != null) {
                return "_" + mapped;
            }
        }
        return primaryTypeName;
    }

    /** True if values of the primary type are stored as text under a mapping. */
    public boolean isMapped(String primaryTypeName) {
        return !replicaTypeName(primaryTypeName).equals(primaryTypeName);
    }

    /** The SQL type a replica column gets for a primary column of {@code ddlType}. */
    public String replicaDdlType(String primaryTypeName, String ddlType) {
        if (!isMapped(primaryTypeName)) {
            return ddlType;
        }
        String mapped = replicaTypeName(primaryTypeName);
        return mapped.startsWith("_") ? mapped.substring(1) + "[]" : mapped;
    }
}
