package io.pgdolt.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.replica.ReplicaSession.Item;
import io.pgdolt.replica.ReplicaSession.NetRows;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The net effect per key of a table's changes, as the multi-row apply path computes it. */
class NetRowsTest {
    private static final TableId T = new TableId("public", "t");
    private static final String[] KEY = {"id"};
    private static final String[] COLS = {"id", "v"};
    private static final SourceTransaction TXN =
            new SourceTransaction(1, Lsn.parse("0/10"), Instant.EPOCH, List.of());

    /** As the source delivers it: an INSERT's key is in its values, not in key columns. */
    private static Item insert(String id, String v) {
        return new Item(
                TXN,
                new RowChange(
                        T,
                        RowChange.Op.INSERT,
                        new String[0],
                        new String[0],
                        COLS,
                        new String[] {id, v}));
    }

    private static Item update(String oldId, String newId, String v) {
        return item(RowChange.Op.UPDATE, oldId, new String[] {newId, v});
    }

    private static Item delete(String id) {
        return new Item(
                TXN,
                new RowChange(
                        T,
                        RowChange.Op.DELETE,
                        KEY,
                        new String[] {id},
                        new String[0],
                        new String[0]));
    }

    private static Item item(RowChange.Op op, String key, String[] values) {
        return new Item(TXN, new RowChange(T, op, KEY, new String[] {key}, COLS, values));
    }

    /** key -> [existed before, final row or "deleted"] */
    private static Map<String, String> net(Item... items) {
        NetRows n = NetRows.of(List.of(items));
        if (n == null) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        n.existed.forEach(
                (k, e) -> {
                    String[] row = n.rows.get(k);
                    out.put(
                            k.get(0),
                            (e[0] ? "existed" : "new")
                                    + " -> "
                                    + (row == null ? "deleted" : Arrays.toString(row)));
                });
        return out;
    }

    @Test
    void mergesEachKeysChangesIntoOneDeleteAndOneInsert() {
        assertThat(
                        net(
                                insert("1", "a"),
                                update("1", "1", "b"),
                                update("2", "2", "x"),
                                update("2", "2", "y"),
                                delete("3"),
                                insert("3", "again"),
                                insert("4", "gone"),
                                delete("4")))
                .containsExactly(
                        Map.entry("1", "new -> [1, b]"),
                        Map.entry("2", "existed -> [2, y]"),
                        Map.entry("3", "existed -> [3, again]"),
                        Map.entry("4", "new -> deleted"));
    }

    @Test
    void keyChangesDeleteTheOldKeyAndInsertTheNewOne() {
        assertThat(net(update("1", "10", "moved"), update("10", "11", "again")))
                .containsExactly(
                        Map.entry("1", "existed -> deleted"),
                        Map.entry("10", "new -> deleted"),
                        Map.entry("11", "new -> [11, again]"));
    }

    @Test
    void unchangedToastValuesComeFromAnEarlierImageOrTheChangesApplyOneByOne() {
        Item known = insert("1", "big");
        Item toast = update("1", "1", RowChange.UNCHANGED);
        assertThat(net(known, toast)).containsExactly(Map.entry("1", "new -> [1, big]"));
        assertThat(net(update("2", "2", RowChange.UNCHANGED)))
                .as("only the replica has it")
                .isNull();
    }

    @Test
    void leavesImpossibleSequencesToTheReplicaToRefuse() {
        // A second INSERT of a live key, or deleting a deleted row: applied one by one, so the
        // replica's error names the statement.
        assertThat(net(insert("1", "a"), delete("2"), insert("1", "b"))).isNull();
        assertThat(net(delete("1"), delete("1"))).isNull();
        List<Item> mixed = new ArrayList<>(List.of(insert("1", "a")));
        mixed.add(
                new Item(
                        TXN,
                        new RowChange(
                                T,
                                RowChange.Op.INSERT,
                                new String[0],
                                new String[0],
                                new String[] {"id"},
                                new String[] {"2"})));
        assertThat(NetRows.of(mixed)).as("different column lists").isNull();
    }

    @Test
    void insertsAloneStayRowsOfTheirOwnInOrder() {
        // No UPDATE or DELETE names the key: nothing to merge, nothing existed; a duplicate key
        // is left to the replica's own constraint, as when applied one by one.
        NetRows n = NetRows.of(List.of(insert("2", "b"), insert("1", "a"), insert("2", "c")));
        assertThat(n).isNotNull();
        assertThat(n.existed.values()).allMatch(e -> !e[0]);
        assertThat(n.rows.values().stream().map(Arrays::toString))
                .containsExactly("[2, b]", "[1, a]", "[2, c]");
        assertThat(net(insert("1", "x"), insert("2", "y")).values())
                .containsExactly("new -> [1, x]", "new -> [2, y]");
    }

    @Test
    void insertsTakeTheirKeyFromTheirValuesBesideUpdates() {
        assertThat(net(insert("5", "a"), insert("6", "b"), update("5", "5", "c")))
                .containsExactly(Map.entry("5", "new -> [5, c]"), Map.entry("6", "new -> [6, b]"));
    }
}
