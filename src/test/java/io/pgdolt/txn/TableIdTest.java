package io.pgdolt.txn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TableIdTest {

    @Test
    void parsesLikePostgres() {
        assertThat(TableId.parse("Orders")).isEqualTo(new TableId("public", "orders"));
        assertThat(TableId.parse("sales.Orders")).isEqualTo(new TableId("sales", "orders"));
        assertThat(TableId.parse("\"My Schema\".\"Tbl.1\""))
                .isEqualTo(new TableId("My Schema", "Tbl.1"));
        assertThat(TableId.parse("s.\"a\"\"b\"")).isEqualTo(new TableId("s", "a\"b"));
    }

    @Test
    void quotesIdentifiers() {
        assertThat(new TableId("public", "we\"ird").quoted()).isEqualTo("\"public\".\"we\"\"ird\"");
    }

    @Test
    void rejectsBadNames() {
        assertThatThrownBy(() -> TableId.parse("a.b.c")).hasMessageContaining("not a table name");
        assertThatThrownBy(() -> TableId.parse("\"open")).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> TableId.parse("a.")).hasMessageContaining("not a table name");
    }
}
