package io.pgdolt.source;

import io.pgdolt.txn.RowChange;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;

/**
 * Turns a Debezium (Kafka Connect) column value into PostgreSQL's text representation, the form the
 * replica's input function parses back into the very same value.
 *
 * <p>Relies on the connector settings made in {@link PostgresCdcSource}: {@code
 * decimal.handling.mode=string}, {@code interval.handling.mode=string}, {@code
 * binary.handling.mode=bytes} and the default adaptive microsecond time precision. A value it
 * cannot represent exactly raises {@link UnsupportedValueException}: a wrong value on the replica
 * is worse than a stopped job. Stateless.
 */
final class ValueText {
    /** What Debezium sends for a TOASTed column that an UPDATE left unchanged. */
    static final String UNAVAILABLE_PLACEHOLDER = "__debezium_unavailable_value";

    private static final byte[] UNAVAILABLE_BYTES =
            UNAVAILABLE_PLACEHOLDER.getBytes(StandardCharsets.UTF_8);
    private static final DateTimeFormatter MONTH_TO_MICROS =
            DateTimeFormatter.ofPattern("-MM-dd HH:mm:ss.SSSSSS");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS");
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private ValueText() {}

    /** Raised for a value that has no faithful text form here. */
    static final class UnsupportedValueException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnsupportedValueException(String message) {
            super(message);
        }
    }

    /**
     * The text form of {@code value}, {@code null} for SQL NULL, or {@link RowChange#UNCHANGED} for
     * the unchanged-TOAST placeholder.
     */
    static String toText(Schema schema, Object value) {
        if (value == null) {
            return null;
        }
        String logical = schema.name();
        if (logical != null) {
            switch (logical) {
                case "io.debezium.time.Date":
                    return formatDate(((Number) value).longValue());
                case "io.debezium.time.Timestamp":
                    return formatTimestampMillis(((Number) value).longValue());
                case "io.debezium.time.MicroTimestamp":
                    return formatTimestamp(((Number) value).longValue());
                case "io.debezium.time.ZonedTimestamp":
                    return zonedTimestamp((String) value);
                case "io.debezium.time.NanoTimestamp":
                    return formatTimestamp(Math.floorDiv(((Number) value).longValue(), 1000L));
                case "io.debezium.time.Time":
                    return formatTime(((Number) value).longValue() * 1000L);
                case "io.debezium.time.MicroTime":
                    return formatTime(((Number) value).longValue());
                case "io.debezium.time.NanoTime":
                    return formatTime(Math.floorDiv(((Number) value).longValue(), 1000L));
                case "io.debezium.data.VariableScaleDecimal":
                    return variableScaleDecimal((Struct) value);
                case "org.apache.kafka.connect.data.Decimal":
                    return ((BigDecimal) value).toPlainString();
                case "io.debezium.data.Bits":
                    return bits(schema, bytes(value));
                case "io.debezium.time.Interval":
                    return intervalText((String) value);
                case "io.debezium.time.MicroDuration":
                case "io.debezium.time.NanoDuration":
                    throw new UnsupportedValueException(
                            "interval values must arrive as strings"
                                    + " (interval.handling.mode=string)");
                default:
                    if (logical.startsWith("io.debezium.data.geometry")) {
                        throw new UnsupportedValueException(
                                "geometric type " + logical + " is not supported");
                    }
                    // Json, Uuid, Enum, Xml, ZonedTimestamp, ZonedTime, Interval, Ltree, ...
                    // are strings already in PostgreSQL's own output form; fall through.
            }
        }
        switch (schema.type()) {
            case STRING:
                String s = (String) value;
                return UNAVAILABLE_PLACEHOLDER.equals(s) ? RowChange.UNCHANGED : s;
            case INT8:
            case INT16:
            case INT32:
            case INT64:
                return value.toString();
            case FLOAT32:
                return floatText(((Float) value).doubleValue(), Float.toString((Float) value));
            case FLOAT64:
                return floatText((Double) value, Double.toString((Double) value));
            case BOOLEAN:
                // bit(1) arrives as a boolean too.
                if ("BIT".equals(sourceType(schema))) {
                    return ((Boolean) value) ? "1" : "0";
                }
                return ((Boolean) value) ? "t" : "f";
            case BYTES:
                byte[] b = bytes(value);
                if (Arrays.equals(b, UNAVAILABLE_BYTES)) {
                    return RowChange.UNCHANGED;
                }
                // A type the connector has no mapping for (include.unknown.datatypes) arrives as
                // the bytes of its text output; only bytea is binary.
                return isUnknownType(schema) ? new String(b, StandardCharsets.UTF_8) : byteaHex(b);
            case ARRAY:
                return arrayText(schema.valueSchema(), (List<?>) value, isUnknownType(schema));
            default:
                throw new UnsupportedValueException(
                        "values of Connect type "
                                + schema.type()
                                + (logical == null ? "" : " (" + logical + ")")
                                + " are not supported");
        }
    }

    /** The primary's type name (upper case) that Debezium recorded in the schema, or null. */
    private static String sourceType(Schema schema) {
        return schema.parameters() == null
                ? null
                : schema.parameters().get(ChangeEventDeserializer.SOURCE_TYPE);
    }

    /** True for bytes that carry the text of a type the connector does not map. */
    private static boolean isUnknownType(Schema schema) {
        String type = sourceType(schema);
        return type != null && !"BYTEA".equals(type) && !"_BYTEA".equals(type);
    }

    private static final java.util.regex.Pattern ISO_INTERVAL =
            java.util.regex.Pattern.compile(
                    "P(?:(-?\\d+)Y)?(?:(-?\\d+)M)?(?:(-?\\d+)D)?"
                            + "(?:T(?:(-?\\d+)H)?(?:(-?\\d+)M)?(?:(-?[\\d.]+)S)?)?");

    /**
     * Debezium's ISO 8601 interval ({@code P1Y2M3DT4H5M6.788999999S}: seconds computed through a
     * double) as PostgreSQL's verbose form, seconds rounded back to the microsecond PostgreSQL
     * stores. Both PostgreSQL and Doltgres parse the verbose form; Doltgres refuses ISO fractions.
     */
    static String intervalText(String iso) {
        java.util.regex.Matcher m = ISO_INTERVAL.matcher(iso);
        if (!m.matches()) {
            throw new UnsupportedValueException("interval '" + iso + "' is not ISO 8601");
        }
        String[] units = {"years", "mons", "days", "hours", "mins"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < units.length; i++) {
            if (m.group(i + 1) != null) {
                sb.append(m.group(i + 1)).append(' ').append(units[i]).append(' ');
            }
        }
        if (m.group(6) != null) {
            BigDecimal seconds =
                    new BigDecimal(m.group(6)).setScale(6, java.math.RoundingMode.HALF_EVEN);
            sb.append(seconds.toPlainString()).append(" secs");
        }
        String text = sb.toString().trim();
        return text.isEmpty() ? "0 secs" : text;
    }

    private static String floatText(double d, String javaText) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        return javaText;
    }

    /**
     * The values Debezium gives PostgreSQL's {@code infinity} and {@code -infinity}: pgjdbc's
     * {@code PGStatement.DATE_POSITIVE_INFINITY} and {@code DATE_NEGATIVE_INFINITY} read as epoch
     * microseconds (timestamp), as milliseconds (timestamp(0..3)), and the epoch days of the dates
     * Debezium picks for date.
     */
    private static final long INFINITY_MICROS = 9223372036825200000L;

    private static final long MINUS_INFINITY_MICROS = -9223372036832400000L;

    /** 4714-11-24 00:00:00 BC, PostgreSQL's earliest timestamp, in epoch microseconds. */
    private static final long MIN_TIMESTAMP_MICROS = -211813488000000000L;

    private static final long INFINITY_DAYS = LocalDate.parse("-5877611-06-21").toEpochDay();
    private static final long MINUS_INFINITY_DAYS = LocalDate.parse("-5877611-06-22").toEpochDay();

    private static String formatDate(long epochDay) {
        if (epochDay == INFINITY_DAYS) {
            return "infinity";
        }
        if (epochDay == MINUS_INFINITY_DAYS) {
            return "-infinity";
        }
        LocalDate date = LocalDate.ofEpochDay(epochDay);
        int year = date.getYear();
        String monthDay = String.format("-%02d-%02d", date.getMonthValue(), date.getDayOfMonth());
        return year <= 0 ? year4(1 - year) + monthDay + " BC" : year4(year) + monthDay;
    }

    /** A year as PostgreSQL prints it: at least four digits, no sign (beyond 9999 too). */
    private static String year4(int year) {
        return String.format("%04d", year);
    }

    private static String formatTimestampMillis(long millis) {
        if (millis == INFINITY_MICROS / 1000) {
            return "infinity";
        }
        if (millis == MINUS_INFINITY_MICROS / 1000) {
            return "-infinity";
        }
        return formatTimestamp(millis * 1000L);
    }

    private static String formatTimestamp(long micros) {
        if (micros == INFINITY_MICROS) {
            return "infinity";
        }
        if (micros == MINUS_INFINITY_MICROS) {
            return "-infinity";
        }
        if (micros < MIN_TIMESTAMP_MICROS) {
            // Below PostgreSQL's range: the connector's microsecond value overflowed.
            throw new UnsupportedValueException(
                    "a timestamp after 294247-01-10 cannot be carried: the connector's microsecond"
                            + " value overflows");
        }
        long seconds = Math.floorDiv(micros, 1_000_000L);
        int nanos = (int) Math.floorMod(micros, 1_000_000L) * 1000;
        return formatLocal(LocalDateTime.ofEpochSecond(seconds, nanos, ZoneOffset.UTC), "");
    }

    /** {@code t} in PostgreSQL's ISO output form, {@code zone} appended before any BC. */
    private static String formatLocal(LocalDateTime t, String zone) {
        int year = t.getYear();
        String rest = t.format(MONTH_TO_MICROS);
        return year <= 0 ? year4(1 - year) + rest + zone + " BC" : year4(year) + rest + zone;
    }

    /**
     * Debezium's ISO 8601 timestamptz ({@code 2026-11-26T10:00:00.123456Z}, years beyond 9999 with
     * a sign, BC as year 0 and below) in the form PostgreSQL parses back, in UTC.
     */
    static String zonedTimestamp(String iso) {
        if (iso.equals("infinity") || iso.equals("-infinity")) {
            return iso;
        }
        java.time.OffsetDateTime t;
        try {
            t = java.time.OffsetDateTime.parse(iso).withOffsetSameInstant(ZoneOffset.UTC);
        } catch (java.time.format.DateTimeParseException e) {
            throw new UnsupportedValueException("timestamptz '" + iso + "' is not ISO 8601");
        }
        return formatLocal(t.toLocalDateTime(), "+00");
    }

    private static String formatTime(long micros) {
        if (micros == 86_400_000_000L) {
            return "24:00:00";
        }
        return LocalTime.ofNanoOfDay(micros * 1000L).format(TIME);
    }

    private static String variableScaleDecimal(Struct struct) {
        int scale = struct.getInt32("scale");
        byte[] unscaled = bytes(struct.get("value"));
        return new BigDecimal(new BigInteger(unscaled), scale).toPlainString();
    }

    /** Debezium's Bits are the bit string as a little-endian {@code BitSet} byte array. */
    private static String bits(Schema schema, byte[] bytes) {
        String lengthParam = schema.parameters() == null ? null : schema.parameters().get("length");
        if (lengthParam == null) {
            throw new UnsupportedValueException("bit string without a length parameter");
        }
        int length = Integer.parseInt(lengthParam);
        java.util.BitSet set = java.util.BitSet.valueOf(bytes);
        StringBuilder sb = new StringBuilder(length);
        for (int i = length - 1; i >= 0; i--) {
            sb.append(set.get(i) ? '1' : '0');
        }
        return sb.toString();
    }

    private static byte[] bytes(Object value) {
        if (value instanceof byte[]) {
            return (byte[]) value;
        }
        ByteBuffer buf = ((ByteBuffer) value).duplicate();
        byte[] b = new byte[buf.remaining()];
        buf.get(b);
        return b;
    }

    private static String byteaHex(byte[] b) {
        char[] out = new char[2 + b.length * 2];
        out[0] = '\\';
        out[1] = 'x';
        for (int i = 0; i < b.length; i++) {
            out[2 + 2 * i] = HEX[(b[i] >> 4) & 0xF];
            out[3 + 2 * i] = HEX[b[i] & 0xF];
        }
        return new String(out);
    }

    /** A one-dimensional array literal, every element quoted so no content needs special care. */
    private static String arrayText(Schema elementSchema, List<?> elements, boolean unknownType) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < elements.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            Object element = elements.get(i);
            String text =
                    unknownType && element != null && elementSchema.type() == Schema.Type.BYTES
                            ? new String(bytes(element), StandardCharsets.UTF_8)
                            : toText(elementSchema, element);
            if (text == null) {
                sb.append("NULL");
            } else if (RowChange.isUnchanged(text)) {
                return RowChange.UNCHANGED;
            } else {
                sb.append('"');
                for (int j = 0; j < text.length(); j++) {
                    char c = text.charAt(j);
                    if (c == '"' || c == '\\') {
                        sb.append('\\');
                    }
                    sb.append(c);
                }
                sb.append('"');
            }
        }
        return sb.append('}').toString();
    }
}
