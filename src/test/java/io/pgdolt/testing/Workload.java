package io.pgdolt.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A mixed OLTP workload over three tables: multi-table transactions of inserts, updates and
 * deletes, values with quotes and Unicode, and on request one large transaction. Deterministic for
 * a seed. Records the xid of every transaction it commits, in commit order.
 */
public final class Workload {
    public static final List<String> TABLES = List.of("accounts", "orders", "events");

    public static final String[] DDL = {
        "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL,"
                + " balance numeric(14,2) NOT NULL, updated_at timestamptz)",
        "CREATE TABLE orders (id bigint PRIMARY KEY, account_id int NOT NULL,"
                + " amount numeric(12,2), note text, created timestamp)",
        "CREATE TABLE events (id bigint PRIMARY KEY, kind varchar(20), payload text,"
                + " flag boolean, score double precision)"
    };

    private static final String[] NOTES = {
        "plain", "it's \"quoted\"", "back\\slash", "ünïcödé ✓ 🚀", "", "line\nbreak", "semi;colon--"
    };

    private final Random random;
    private final List<Integer> accounts = new ArrayList<>();
    private final List<Long> orders = new ArrayList<>();
    private final List<Long> events = new ArrayList<>();
    private int nextAccount;
    private long nextOrder;
    private long nextEvent;
    private final List<Long> xids = new ArrayList<>();
    private int rowChanges;

    public Workload(long seed) {
        this(seed, 0);
    }

    /** A workload whose rows have ids above {@code idBase}, so several can run side by side. */
    public Workload(long seed, int idBase) {
        this.random = new Random(seed);
        this.nextAccount = idBase + 1;
        this.nextOrder = idBase + 1;
        this.nextEvent = idBase + 1;
    }

    /** Xids of the committed transactions, in commit order. */
    public List<Long> xids() {
        return xids;
    }

    public int rowChanges() {
        return rowChanges;
    }

    /** Runs {@code n} small transactions (1-6 statements over 1-3 tables). */
    public void run(Connection c, int n) throws SQLException {
        c.setAutoCommit(false);
        for (int i = 0; i < n; i++) {
            int statements = 1 + random.nextInt(6);
            for (int s = 0; s < statements; s++) {
                step(c);
            }
            xids.add(ReplicationFixture.currentXid(c));
            c.commit();
        }
        c.setAutoCommit(true);
    }

    /** One transaction inserting {@code rows} events. */
    public void bulk(Connection c, int rows) throws SQLException {
        c.setAutoCommit(false);
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO events (id, kind, payload, flag, score) VALUES (?, ?, ?,"
                                + " ?, ?)")) {
            for (int i = 0; i < rows; i++) {
                long id = nextEvent++;
                ps.setLong(1, id);
                ps.setString(2, "bulk");
                ps.setString(3, "{\"i\": " + i + "}");
                ps.setBoolean(4, i % 2 == 0);
                ps.setDouble(5, i / 7.0);
                ps.addBatch();
                events.add(id);
                rowChanges++;
                if (i % 1000 == 999) {
                    ps.executeBatch();
                }
            }
            ps.executeBatch();
        }
        xids.add(ReplicationFixture.currentXid(c));
        c.commit();
        c.setAutoCommit(true);
    }

    private void step(Connection c) throws SQLException {
        int op = random.nextInt(8);
        try (Statement st = c.createStatement()) {
            if (op == 0 || accounts.size() < 5) {
                int id = nextAccount++;
                exec(
                        c,
                        "INSERT INTO accounts VALUES (?, ?, ?, now())",
                        id,
                        "owner " + NOTES[random.nextInt(NOTES.length)],
                        new java.math.BigDecimal(random.nextInt(1_000_000)).movePointLeft(2));
                accounts.add(id);
            } else if (op == 1) {
                exec(
                        c,
                        "UPDATE accounts SET balance = balance + ?, updated_at = now() WHERE id ="
                                + " ?",
                        new java.math.BigDecimal(random.nextInt(10_000) - 5000).movePointLeft(2),
                        pick(accounts));
            } else if (op == 2 || op == 3) {
                long id = nextOrder++;
                exec(
                        c,
                        "INSERT INTO orders VALUES (?, ?, ?, ?, localtimestamp)",
                        id,
                        pick(accounts),
                        new java.math.BigDecimal(random.nextInt(100_000)).movePointLeft(2),
                        random.nextInt(5) == 0 ? null : NOTES[random.nextInt(NOTES.length)]);
                orders.add(id);
            } else if (op == 4 && !orders.isEmpty()) {
                long id = orders.remove(random.nextInt(orders.size()));
                exec(c, "DELETE FROM orders WHERE id = ?", id);
            } else if (op == 5 && !orders.isEmpty()) {
                exec(
                        c,
                        "UPDATE orders SET note = ?, amount = amount * 2 WHERE id = ?",
                        NOTES[random.nextInt(NOTES.length)],
                        pick(orders));
            } else if (op == 6 || events.isEmpty()) {
                long id = nextEvent++;
                exec(
                        c,
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                        id,
                        "kind" + random.nextInt(10),
                        "{\"n\": " + random.nextInt() + ", \"s\": \"" + random.nextInt(100) + "\"}",
                        random.nextBoolean(),
                        random.nextDouble() * 1e6);
                events.add(id);
            } else if (random.nextBoolean()) {
                // An UPDATE that changes nothing: still one source change to replicate.
                exec(c, "UPDATE events SET flag = flag WHERE id = ?", pick(events));
            } else {
                long id = events.remove(random.nextInt(events.size()));
                exec(c, "DELETE FROM events WHERE id = ?", id);
            }
        }
    }

    private <T> T pick(List<T> list) {
        return list.get(random.nextInt(list.size()));
    }

    private void exec(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            rowChanges += ps.executeUpdate();
        }
    }
}
