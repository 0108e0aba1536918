package io.pgdolt.verify;

import java.util.function.UnaryOperator;

/**
 * Brings a value's text, as one server printed it, to the form both servers agree on for equal
 * values. Most types need nothing: both print them with PostgreSQL's output functions (session time
 * zone UTC). Doltgres differs for floats (no exponent: {@code 1e-10} prints as {@code
 * 0.0000000001}) and for boolean array elements ({@code true}/{@code false} where PostgreSQL prints
 * {@code t}/{@code f}), so those are compared as values. Stateless and thread-safe.
 */
final class Normalizer {
    private Normalizer() {}

    /**
     * The comparable text of {@code raw}, a value of the primary's type {@code typeName} (its
     * catalog name: {@code float8}, {@code _bool}, ...). {@code null} stays {@code null}.
     */
    static String normalize(String typeName, String raw) {
        if (raw == null) {
            return null;
        }
        switch (typeName) {
            case "float4":
                return float4(raw);
            case "float8":
                return float8(raw);
            case "bool":
                return bool(raw);
            case "_float4":
                return elements(raw, Normalizer::float4);
            case "_float8":
                return elements(raw, Normalizer::float8);
            case "_bool":
                return elements(raw, Normalizer::bool);
            default:
                return raw;
        }
    }

    private static String float4(String s) {
        try {
            // Doltgres may print a real's float8 widening; parsing as float undoes it.
            return Float.toString(Float.parseFloat(s.trim()));
        } catch (NumberFormatException e) {
            return s;
        }
    }

    private static String float8(String s) {
        try {
            return Double.toString(Double.parseDouble(s.trim()));
        } catch (NumberFormatException e) {
            return s;
        }
    }

    private static String bool(String s) {
        switch (s) {
            case "t":
            case "true":
                return "t";
            case "f":
            case "false":
                return "f";
            default:
                return s;
        }
    }

    /**
     * Applies {@code element} to every element of an array's text output, keeping braces, commas,
     * NULL and any dimension prefix ({@code [0:1]=}). Only for element types whose output never
     * holds a comma, brace or quote of its own (floats, booleans); quotes around an element are
     * dropped.
     */
    static String elements(String raw, UnaryOperator<String> element) {
        int start = raw.indexOf('{');
        if (start < 0 || !raw.endsWith("}")) {
            return raw;
        }
        StringBuilder out = new StringBuilder(raw.length());
        out.append(raw, 0, start);
        int i = start;
        while (i < raw.length()) {
            char c = raw.charAt(i);
            if (c == '{' || c == '}' || c == ',') {
                out.append(c);
                i++;
                continue;
            }
            int end = i;
            while (end < raw.length() && "{},".indexOf(raw.charAt(end)) < 0) {
                end++;
            }
            String token = raw.substring(i, end);
            if (token.length() >= 2 && token.startsWith("\"") && token.endsWith("\"")) {
                token = token.substring(1, token.length() - 1);
            } else if (token.equals("NULL")) {
                out.append(token);
                i = end;
                continue;
            }
            out.append(element.apply(token));
            i = end;
        }
        return out.toString();
    }
}
