package io.debezium.connector.postgresql.connection.pgoutput;

import static org.assertj.core.api.Assertions.assertThat;

import io.debezium.data.SpecialValueDecimal;
import io.pgdolt.source.TextValueConverter;
import java.math.BigDecimal;
import java.time.LocalTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/**
 * pgdolt's pgoutput column value: time with time zone keeps its offset; the rest as pgoutput
 * prints.
 */
class PgOutputColumnValueTest {

    @Test
    void timeWithTimeZoneKeepsItsOwnOffset() {
        assertThat(new PgOutputColumnValue("12:00:00.5+05:30").asOffsetTimeUtc())
                .isEqualTo(OffsetTime.of(12, 0, 0, 500_000_000, ZoneOffset.ofHoursMinutes(5, 30)));
        assertThat(new PgOutputColumnValue("00:00:00-14").asOffsetTimeUtc())
                .isEqualTo(OffsetTime.of(0, 0, 0, 0, ZoneOffset.ofHours(-14)));
        assertThat(new PgOutputColumnValue("10:20:30.000001+05:30:15").asOffsetTimeUtc())
                .isEqualTo(
                        OffsetTime.of(
                                10, 20, 30, 1000, ZoneOffset.ofHoursMinutesSeconds(5, 30, 15)));
        assertThat(new PgOutputColumnValue("24:00:00+00").asOffsetTimeUtc())
                .isEqualTo(OffsetTime.of(LocalTime.MAX, ZoneOffset.UTC));
    }

    @Test
    void thisClassIsTheOneInEffect() {
        // The job jar and the test class path hold pgdolt's class ahead of Debezium's.
        assertThat(TextValueConverter.carriesTimetz()).isTrue();
    }

    @Test
    void otherTypesParseAsPgoutputPrintsThem() {
        assertThat(new PgOutputColumnValue("t").asBoolean()).isTrue();
        assertThat(new PgOutputColumnValue("f").asBoolean()).isFalse();
        assertThat(new PgOutputColumnValue("-2147483648").asInteger()).isEqualTo(Integer.MIN_VALUE);
        assertThat(new PgOutputColumnValue("9223372036854775807").asLong())
                .isEqualTo(Long.MAX_VALUE);
        assertThat(new PgOutputColumnValue("NaN").asDouble()).isNaN();
        assertThat(new PgOutputColumnValue("-Infinity").asFloat())
                .isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(new PgOutputColumnValue("NaN").asDecimal())
                .isSameAs(SpecialValueDecimal.NOT_A_NUMBER);
        assertThat(new PgOutputColumnValue("-12.3400").asDecimal().getDecimalValue())
                .contains(new BigDecimal("-12.3400"));
        assertThat(new PgOutputColumnValue("\\x00ff10").asByteArray())
                .containsExactly(0x00, 0xff, 0x10);
        assertThat(new PgOutputColumnValue(null).isNull()).isTrue();
        assertThat(new PgOutputColumnValue("x").getRawValue()).isEqualTo("x");
    }
}
