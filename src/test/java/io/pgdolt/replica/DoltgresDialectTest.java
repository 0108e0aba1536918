package io.pgdolt.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class DoltgresDialectTest {
    private final DoltgresDialect dialect = new DoltgresDialect(true, "a <a@b>");

    @Test
    void refusesValuesDoltgresWouldChange() {
        assertThat(dialect.refuse("float8", "-0.0")).contains("-0");
        assertThat(dialect.refuse("float4", "-1.5")).isNull();
        assertThat(dialect.refuse("text[]", "{\"a\",\"\"}")).contains("empty strings");
        assertThat(dialect.refuse("text[]", "{\"back\\\\slash\"}")).contains("backslashes");
        assertThat(dialect.refuse("date", "-infinity")).contains("out of its range");
        assertThat(dialect.refuse("timestamp", "infinity")).isNull();
        assertThat(dialect.refuse("text[]", "{\"q\\\"uote\",NULL}")).isNull();
        assertThat(dialect.refuse("text", "")).isNull();
        assertThat(new PostgresDialect().refuse("float8", "-0.0")).isNull();
    }

    @Test
    void commitMessageNamesXidLsnAndTables() {
        SourceTransaction t =
                new SourceTransaction(
                        42,
                        Lsn.parse("0/16B3748"),
                        Instant.parse("2026-11-26T10:00:00.123456Z"),
                        List.of(RowChange.truncate(new TableId("public", "a"))));
        String m = DoltgresDialect.message(t, "p1");
        assertThat(m.split("\n")[0]).isEqualTo("pgdolt: xid 42 at LSN 0/16B3748");
        assertThat(m)
                .contains("source-commit-time: 2026-11-26T10:00:00.123456Z")
                .contains("pipeline: p1")
                .contains("public.a: 1");
    }

    @Test
    void checkpointCommitMessageListsEveryXidAndTheLsnRange() {
        Instant t1 = Instant.parse("2026-11-26T10:00:00.000001Z");
        Instant t2 = Instant.parse("2026-11-26T10:00:01Z");
        List<SourceTransaction> txns =
                List.of(
                        new SourceTransaction(
                                41,
                                Lsn.parse("0/100"),
                                t1,
                                List.of(RowChange.truncate(new TableId("public", "a")))),
                        new SourceTransaction(
                                43,
                                Lsn.parse("0/200"),
                                t2,
                                List.of(
                                        RowChange.truncate(new TableId("public", "a")),
                                        RowChange.truncate(new TableId("public", "b")))));
        String m = DoltgresDialect.message(txns, "p1");
        String[] lines = m.split("\n");
        assertThat(lines[0]).isEqualTo("pgdolt: 2 transactions, xids 41..43 at LSN 0/100..0/200");
        assertThat(m)
                .contains("source-commit-time: 2026-11-26T10:00:01Z")
                .contains("changes: 3")
                .contains("public.a: 2")
                .contains("public.b: 1")
                .endsWith(
                        "transactions (xid, commit LSN, source commit time):\n"
                                + "  41 0/100 2026-11-26T10:00:00.000001Z\n"
                                + "  43 0/200 2026-11-26T10:00:01Z");
    }

    /** The position is read back from the messages pgdolt writes, and only from those. */
    @Test
    void readsTheAppliedLsnBackFromItsOwnCommitMessages() {
        Instant at = Instant.parse("2026-11-26T10:00:00Z");
        SourceTransaction one = new SourceTransaction(7, Lsn.of(0x1A0), at, List.of());
        SourceTransaction two = new SourceTransaction(8, Lsn.of(0x2B0), at, List.of());
        String single = DoltgresDialect.message(one, "shop");
        String checkpoint = DoltgresDialect.message(List.of(one, two), "shop");
        assertThat(DoltgresDialect.appliedLsn(single)).isEqualTo(Lsn.of(0x1A0));
        assertThat(DoltgresDialect.appliedLsn(checkpoint)).isEqualTo(Lsn.of(0x2B0));
        assertThat(
                        DoltgresDialect.appliedLsn(
                                "pgdolt: initial snapshot of 1 tables, 5 rows, up to LSN 0/1A0"
                                        + "\n\npipeline: shop"))
                .isNull();
        assertThat(DoltgresDialect.appliedLsn("pgdolt setup: keep public.x out")).isNull();

        assertThat(DoltgresDialect.namesPipeline(single, "\npipeline: shop")).isTrue();
        assertThat(DoltgresDialect.namesPipeline(single, "\npipeline: sho")).isFalse();
        assertThat(DoltgresDialect.namesPipeline("x\npipeline: shop", "\npipeline: shop")).isTrue();
        assertThat(DoltgresDialect.namesPipeline("x\npipeline: shop.orders", "\npipeline: shop"))
                .isFalse();
    }
}
