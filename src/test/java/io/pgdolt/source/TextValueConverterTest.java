package io.pgdolt.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The text pgdolt hands the replica for values Debezium would change. */
class TextValueConverterTest {

    @Test
    void timeWithTimeZoneIsPrintedWithItsOffset() {
        assertThat(
                        TextValueConverter.timetz(
                                OffsetTime.of(
                                        12, 0, 0, 500_000_000, ZoneOffset.ofHoursMinutes(5, 30))))
                .isEqualTo("12:00:00.500000+05:30:00");
        assertThat(TextValueConverter.timetz(OffsetTime.of(0, 0, 0, 0, ZoneOffset.ofHours(-14))))
                .isEqualTo("00:00:00.000000-14:00:00");
        assertThat(
                        TextValueConverter.timetz(
                                OffsetTime.of(
                                        23,
                                        59,
                                        59,
                                        999_999_000,
                                        ZoneOffset.ofHoursMinutesSeconds(-3, -30, -15))))
                .isEqualTo("23:59:59.999999-03:30:15");
        assertThat(TextValueConverter.timetz(OffsetTime.of(LocalTime.MAX, ZoneOffset.UTC)))
                .isEqualTo("24:00:00+00:00:00");
        assertThat(TextValueConverter.timetz(null)).isNull();
        assertThat(TextValueConverter.timetz("12:00:00+01")).isEqualTo("12:00:00+01");
    }
}
