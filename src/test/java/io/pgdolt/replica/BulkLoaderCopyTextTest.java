package io.pgdolt.replica;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Rows of COPY's text format, as PostgreSQL writes them, decoded field by field. */
class BulkLoaderCopyTextTest {

    private static java.util.List<String> fields(String row) {
        return BulkLoader.CopyText.fields(row.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void splitsOnTabsAndDecodesEscapes() {
        assertThat(fields("1\ta\\tb\\nc\\\\d\t\\N\t\n"))
                .containsExactly("1", "a\tb\nc\\d", null, "");
        assertThat(fields("{\"a\\\\\\\\b\",\"\"}\n")).containsExactly("{\"a\\\\b\",\"\"}");
        assertThat(fields("\\101\\x42\\r\\b\\f\\v")).containsExactly("AB\r\b\f\u000B");
        assertThat(fields("é😀\t-0\n")).containsExactly("é😀", "-0");
        // A literal "\N" string is escaped as \\N and is not NULL.
        assertThat(fields("\\\\N")).isEqualTo(Arrays.asList("\\N"));
    }
}
