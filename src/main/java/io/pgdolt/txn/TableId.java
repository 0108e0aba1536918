package io.pgdolt.txn;

import java.io.Serializable;
import java.util.Objects;

/** A schema-qualified table name, case-sensitive as in the catalog (identifiers are unquoted). */
public record TableId(String schema, String table) implements Serializable, Comparable<TableId> {

    public TableId {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(table, "table");
        if (schema.isEmpty() || table.isEmpty()) {
            throw new IllegalArgumentException("schema and table names must not be empty");
        }
    }

    /**
     * Parses {@code schema.table} or {@code table} (schema {@code public}). Parts may be
     * double-quoted to contain dots or capitals: {@code "My Schema"."Tbl.1"}.
     */
    public static TableId parse(String text) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean partQuoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
                partQuoted = true;
            } else if (c == '.') {
                parts.add(partQuoted ? cur.toString() : fold(cur.toString()));
                cur.setLength(0);
                partQuoted = false;
            } else {
                cur.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("unterminated quote in table name: " + text);
        }
        parts.add(partQuoted ? cur.toString() : fold(cur.toString()));
        if (parts.size() > 2 || parts.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException(
                    "not a table name: '" + text + "' (expected schema.table or table)");
        }
        return parts.size() == 1
                ? new TableId("public", parts.get(0))
                : new TableId(parts.get(0), parts.get(1));
    }

    /** Unquoted names fold to lower case, as in PostgreSQL. */
    private static String fold(String name) {
        return name.trim().toLowerCase(java.util.Locale.ROOT);
    }

    /** The name as SQL: both parts double-quoted with embedded quotes doubled. */
    public String quoted() {
        return quote(schema) + "." + quote(table);
    }

    /** Quotes one SQL identifier. */
    public static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    @Override
    public int compareTo(TableId o) {
        int c = schema.compareTo(o.schema);
        return c != 0 ? c : table.compareTo(o.table);
    }

    @Override
    public String toString() {
        return schema + "." + table;
    }
}
