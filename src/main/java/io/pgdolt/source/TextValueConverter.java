package io.pgdolt.source;

import io.debezium.connector.postgresql.UnchangedToastedReplicationMessageColumn;
import io.debezium.spi.converter.CustomConverter;
import io.debezium.spi.converter.RelationalColumn;
import java.nio.charset.StandardCharsets;
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
 *       holding a NULL element as NULL. pgoutput's array literal is exact for every element type.
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
        if (!type.equals("varbit") && !type.equals("bit varying") && !type.startsWith("_")) {
            return;
        }
        registration.register(SchemaBuilder.string().optional(), TextValueConverter::text);
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
