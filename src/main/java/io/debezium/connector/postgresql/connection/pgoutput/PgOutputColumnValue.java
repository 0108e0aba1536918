package io.debezium.connector.postgresql.connection.pgoutput;

import io.debezium.connector.postgresql.connection.AbstractColumnValue;
import io.debezium.data.SpecialValueDecimal;
import io.debezium.util.Strings;
import java.math.BigDecimal;
import java.time.LocalTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;

/**
 * pgdolt's own version of the Debezium 1.9 class of this name (which the job jar therefore holds in
 * place of Debezium's): one column value of a pgoutput tuple, held as the text pgoutput sent.
 *
 * <p>It differs from Debezium's in one method. Debezium turns a {@code time with time zone} value
 * into UTC ({@link #asOffsetTimeUtc}) before any converter sees it, so {@code 12:00+05:30} would
 * reach the replica as {@code 06:30+00}: the same instant, but a different value (PostgreSQL keeps
 * and compares the offset). Here the value keeps its own offset, and pgdolt's {@code
 * TextValueConverter} prints it back exactly. {@code 24:00:00}, which {@link LocalTime} cannot
 * hold, comes as {@link LocalTime#MAX} (nanoseconds PostgreSQL cannot produce). Debezium's own
 * timetz mapping normalises to UTC afterwards anyway, so nothing else changes.
 *
 * <p>The other methods parse the text the way pgoutput prints each type.
 */
class PgOutputColumnValue extends AbstractColumnValue<String> {
    /** Looked up by pgdolt to know that this class, not Debezium's, is in effect. */
    static final boolean PGDOLT_KEEPS_TIMETZ_OFFSET = true;

    private final String value;

    PgOutputColumnValue(String value) {
        this.value = value;
    }

    @Override
    public String getRawValue() {
        return value;
    }

    @Override
    public boolean isNull() {
        return value == null;
    }

    @Override
    public String asString() {
        return value;
    }

    @Override
    public Boolean asBoolean() {
        return "t".equalsIgnoreCase(value);
    }

    @Override
    public Integer asInteger() {
        return Integer.valueOf(value);
    }

    @Override
    public Long asLong() {
        return Long.valueOf(value);
    }

    @Override
    public Float asFloat() {
        return Float.valueOf(value);
    }

    @Override
    public Double asDouble() {
        return Double.valueOf(value);
    }

    @Override
    public SpecialValueDecimal asDecimal() {
        return "NaN".equals(value)
                ? SpecialValueDecimal.NOT_A_NUMBER
                : new SpecialValueDecimal(new BigDecimal(value));
    }

    /** bytea in hex output: {@code \x0aff}. */
    @Override
    public byte[] asByteArray() {
        return Strings.hexStringToByteArray(value.substring(2));
    }

    /** The time with its own offset (not moved to UTC; see the class comment). */
    @Override
    public OffsetTime asOffsetTimeUtc() {
        return parseTimeWithTimeZone(value);
    }

    /**
     * Parses PostgreSQL's output of {@code time with time zone}: {@code HH:MM:SS[.ffffff]} and an
     * offset {@code ±HH[:MM[:SS]]}.
     */
    static OffsetTime parseTimeWithTimeZone(String text) {
        int sign = Math.max(text.lastIndexOf('+'), text.lastIndexOf('-'));
        if (sign <= 0) {
            throw new IllegalArgumentException("not a time with time zone: '" + text + "'");
        }
        String time = text.substring(0, sign);
        ZoneOffset offset = ZoneOffset.of(text.substring(sign));
        LocalTime local = time.equals("24:00:00") ? LocalTime.MAX : LocalTime.parse(time);
        return OffsetTime.of(local, offset);
    }
}
