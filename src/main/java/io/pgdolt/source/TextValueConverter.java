package io.pgdolt.source;

import io.debezium.connector.postgresql.UnchangedToastedReplicationMessageColumn;
import io.debezium.spi.converter.CustomConverter;
import io.debezium.spi.converter.RelationalColumn;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.time.OffsetTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.connect.data.SchemaBuilder;

/**
 * Passes the primary's own text of some types through unchanged, where Debezium's mapping would
 * lose information. pgoutput sends every value as its type's output text; for these columns that
 * text reaches pgdolt as it is, so the replica's input function parses back the very same value:
 *
 * <ul>
 *   <li>{@code bit varying}: Debezium pads it to the declared length ({@code B'101'} would come
 *       back as {@code B'00000101'});
 *   <li>arrays (types named {@code _elem}): Debezium has no mapping for arrays of bytea, interval,
 *       bit varying, money, xml, point or domains (it drops the column), and delivers an enum array
 *       holding a NULL element as NULL. pgoutput's array literal is exact for every element type;
 *   <li>{@code time with time zone}: Debezium moves the value to UTC, losing its offset. pgdolt's
 *       own {@code PgOutputColumnValue} keeps it ({@link #carriesTimetz()}), and the value is
 *       printed back here with its offset.
 * </ul>
 *
 * <p>Registered through the connector's {@code converters} property. Stateless.
 */
public final class TextValueConverter implements CustomConverter<SchemaBuilder, RelationalColumn> {

    @Override
    public void configure(Properties props) {}

    @Override
    public void converterFor(
            RelationalColumn column, ConverterRegistration<SchemaBuilder> registration) {
        String type = column.typeName().toLowerCase(Locale.ROOT);
        if ((type.equals("timetz") || type.equals("time with time zone")) && carriesTimetz()) {
            registration.register(SchemaBuilder.string().optional(), TextValueConverter::timetz);
            return;
        }
        if (!type.equals("varbit") && !type.equals("bit varying") && !type.startsWith("_")) {
            return;
        }
        registration.register(SchemaBuilder.string().optional(), TextValueConverter::text);
    }

    private static final String KEEPS_OFFSET_CLASS =
            "io.debezium.connector.postgresql.connection.pgoutput.PgOutputColumnValue";

    private static final boolean CARRIES_TIMETZ = findOffsetKeepingDecoder();

    /**
     * Whether {@code time with time zone} values reach pgdolt with their offset: true when the
     * class path holds pgdolt's {@code PgOutputColumnValue} rather than Debezium's (a class path
     * that puts Debezium's first would lose offsets; then such columns are refused at start-up).
     */
    public static boolean carriesTimetz() {
        return CARRIES_TIMETZ;
    }

    private static boolean findOffsetKeepingDecoder() {
        try {
            // Through the loader of the class that creates the values, wherever it came from.
            ClassLoader decoder =
                    Class.forName(
                                    "io.debezium.connector.postgresql.connection.pgoutput"
                                            + ".PgOutputReplicationMessage",
                                    false,
                                    TextValueConverter.class.getClassLoader())
                            .getClassLoader();
            Class.forName(KEEPS_OFFSET_CLASS, false, decoder)
                    .getDeclaredField("PGDOLT_KEEPS_TIMETZ_OFFSET");
            return true;
        } catch (ClassNotFoundException | NoSuchFieldException | LinkageError e) {
            return false;
        }
    }

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSS", Locale.ROOT);

    /** A time with time zone in PostgreSQL's input syntax, with its own offset. */
    static String timetz(Object raw) {
        if (raw == null) {
            return null;
        }
        if (raw == UnchangedToastedReplicationMessageColumn.UNCHANGED_TOAST_VALUE) {
            return ValueText.UNAVAILABLE_PLACEHOLDER;
        }
        if (!(raw instanceof OffsetTime)) {
            // The snapshot path and any other source hand over text already.
            return raw.toString();
        }
        OffsetTime t = (OffsetTime) raw;
        String time =
                t.toLocalTime().equals(LocalTime.MAX) ? "24:00:00" : TIME.format(t.toLocalTime());
        int seconds = t.getOffset().getTotalSeconds();
        int abs = Math.abs(seconds);
        return String.format(
                Locale.ROOT,
                "%s%s%02d:%02d:%02d",
                time,
                seconds < 0 ? "-" : "+",
                abs / 3600,
                abs / 60 % 60,
                abs % 60);
    }

    static String text(Object raw) {
        if (raw == null) {
            return null;
        }
        if (raw == UnchangedToastedReplicationMessageColumn.UNCHANGED_TOAST_VALUE) {
            return ValueText.UNAVAILABLE_PLACEHOLDER;
        }
        if (raw instanceof byte[]) {
            return new String((byte[]) raw, StandardCharsets.UTF_8);
        }
        // pgjdbc's PgArray, built from pgoutput's text, prints that text.
        return raw.toString();
    }
}
