package io.pgdolt.source;

import io.debezium.spi.converter.CustomConverter;
import io.debezium.spi.converter.RelationalColumn;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.connect.data.SchemaBuilder;

/**
 * Keeps {@code bit varying} values as the primary's text ({@code 101}). Debezium's own mapping
 * turns them into a bit set padded to the declared length, which loses the value's length: {@code
 * B'101'} would come back as {@code B'00000101'}. pgoutput sends the text, and this converter
 * passes it on unchanged. Registered through the connector's {@code converters} property.
 */
public final class BitVaryingConverter implements CustomConverter<SchemaBuilder, RelationalColumn> {

    @Override
    public void configure(Properties props) {}

    @Override
    public void converterFor(
            RelationalColumn column, ConverterRegistration<SchemaBuilder> registration) {
        String type = column.typeName().toLowerCase(Locale.ROOT);
        if (!type.equals("varbit") && !type.equals("bit varying")) {
            return;
        }
        registration.register(
                SchemaBuilder.string().optional(),
                raw -> {
                    if (raw == null) {
                        return null;
                    }
                    if (raw instanceof byte[]) {
                        return new String((byte[]) raw, StandardCharsets.UTF_8);
                    }
                    return raw.toString();
                });
    }
}
