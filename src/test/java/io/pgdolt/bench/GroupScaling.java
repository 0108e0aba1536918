package io.pgdolt.bench;

import io.pgdolt.testing.Db;
import io.pgdolt.testing.TcpProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Apply rate against the number of replication groups. Four independent pgbench table sets (schemas
 * {@code g_0..g_3}); each transaction is TPC-B-like on one set chosen at random, so it belongs to
 * exactly one group. With G groups, group i publishes the sets j with j mod G = i. For each G, a
 * fresh replica is loaded with the primary's rows, pgdolt starts with G groups through a proxy, and
 * after a warm-up the proxy holds its traffic while pgbench commits the backlog; the rate is timed
 * from letting go to the whole backlog being on the replica.
 */
final class GroupScaling {
    static final int SETS = 4;

    /** One run's figures; NaN where it did not get that far. */
    static final class Row {
        final String kind;
        final int groups;

        /** Each group into a Doltgres database of its own (groups[].replica_url). */
        final boolean separate;

        double txnRate = Double.NaN;
        double windowRate = Double.NaN;
        int backlog;

        /** While the backlog drained: the machine's busy share, and cores used by each part. */
        double machineBusy = Double.NaN;

        double jobCores = Double.NaN;
        double replicaCores = Double.NaN;
        double primaryCores = Double.NaN;
        String check = "not reached";
        String failure;

        Row(String kind, int groups, boolean separate) {
            this.kind = kind;
            this.groups = groups;
            this.separate = separate;
        }

        String name() {
            return "groups-" + kind + (separate ? "-dbs-" : "-") + groups;
        }
    }

    private final ReplicationBenchmark bench;
    private final Db primary;
    private final int backlog;
    private boolean created;

    GroupScaling(ReplicationBenchmark bench, Db primary, int backlog) {
        this.bench = bench;
        this.primary = primary;
        this.backlog = backlog;
    }

    private static String set(int j) {
        return "g_" + j;
    }

    /**
     * One run: {@code groups} groups into a fresh replica, a Doltgres server of its own ({@code
     * pgReplica} null) or a new database of {@code pgReplica}.
     */
    void run(Row row, Db pgReplica) throws Exception {
        boolean dolt = pgReplica == null;
        String name = row.name();
        // PostgreSQL drains a backlog an order of magnitude faster: give it a larger one.
        int backlog = dolt ? this.backlog : this.backlog * 4;
        row.backlog = backlog;
        if (!created) {
            for (int j = 0; j < SETS; j++) {
                bench.createSourceTables(set(j));
            }
            created = true;
        }
        // The replica is loaded without history rows: start each run with none.
        for (int j = 0; j < SETS; j++) {
            primary.exec("TRUNCATE " + set(j) + ".pgbench_history");
        }
        DoltgresServer own = null;
        Process job = null;
        TcpProxy proxy = null;
        List<String> slots = new ArrayList<>();
        try {
            Db replica;
            long replicaPid;
            if (dolt) {
                own =
                        new DoltgresServer(
                                bench.settings().doltgresBin(),
                                bench.settings().work().resolve(name + "-replica"));
                own.start(null, null);
                replica = own.db();
                replicaPid = own.pid();
            } else {
                replica = pgReplica.withDatabase("bench_" + name.replace('-', '_'));
                bench.recreateDatabase(replica);
                replicaPid = bench.pgReplicaPid();
            }
            // The replica database of each set: one, or (separate) its group's own.
            List<Db> setDb = new ArrayList<>();
            List<Db> groupDb = new ArrayList<>();
            for (int i = 0; i < row.groups; i++) {
                Db db = replica;
                if (row.separate) {
                    db = replica.withDatabase("g" + i);
                    replica.exec("CREATE DATABASE g" + i);
                }
                groupDb.add(db);
            }
            for (int j = 0; j < SETS; j++) {
                setDb.add(groupDb.get(j % row.groups));
                bench.loadReplica(primary, setDb.get(j), set(j), dolt);
            }
            for (int i = 0; i < row.groups; i++) {
                String slot = "gs_" + row.groups + "_" + i;
                List<String> tables = new ArrayList<>();
                for (int j = i; j < SETS; j += row.groups) {
                    tables.addAll(ReplicationBenchmark.qualified(set(j)));
                }
                primary.exec(
                        "CREATE PUBLICATION " + slot + " FOR TABLE " + String.join(", ", tables),
                        "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
                slots.add(slot);
            }
            long commitsBefore = dolt ? commits(groupDb) : 0;
            long historyBefore = history(primary);
            proxy = new TcpProxy(primary.host(), primary.port());
            job = start(name, replica, proxy, slots, row.separate ? groupDb : null, dolt);
            awaitSlotsActive(slots, job);
            bench.say("%s: started with %d group(s)", name, row.groups);
            // Warm-up, then the held backlog.
            pgbench("-t", "" + Math.max(50, backlog / 16));
            awaitHistory(setDb, history(primary), job, null, 0);
            proxy.pause();
            long target;
            try {
                pgbench("-t", "" + backlog / 2);
                target = history(primary);
            } finally {
                proxy.resume();
            }
            long t0 = System.nanoTime();
            long primaryPid = ReplicationBenchmark.primaryPid();
            double busy0 = ProcStats.machineBusySeconds();
            double job0 = ProcStats.cpuSeconds(job.pid());
            double replica0 = ProcStats.cpuSeconds(replicaPid);
            double primary0 = ProcStats.cpuSeconds(primaryPid);
            long[] at = new long[5];
            awaitHistory(setDb, target, job, at, target - backlog);
            double seconds = (at[2] - t0) / 1e9;
            row.machineBusy =
                    (ProcStats.machineBusySeconds() - busy0)
                            / (seconds * Runtime.getRuntime().availableProcessors());
            row.jobCores = (ProcStats.cpuSeconds(job.pid()) - job0) / seconds;
            row.replicaCores = (ProcStats.cpuSeconds(replicaPid) - replica0) / seconds;
            row.primaryCores = (ProcStats.cpuSeconds(primaryPid) - primary0) / seconds;
            row.txnRate = backlog / seconds;
            row.windowRate = (at[4] - at[3]) / ((at[1] - at[0]) / 1e9);
            bench.say(
                    "%s: backlog of %d at %.1f txn/s (%.1f txn/s from 30%% to 95%%); machine %.0f%%"
                            + " busy; cores used: job %.2f, replica %.2f, primary %.2f",
                    name,
                    backlog,
                    row.txnRate,
                    row.windowRate,
                    row.machineBusy * 100,
                    row.jobCores,
                    row.replicaCores,
                    row.primaryCores);
            row.check =
                    check(setDb, groupDb, dolt, commitsBefore, history(primary) - historyBefore);
            bench.say("%s: check: %s", name, row.check);
        } finally {
            if (job != null) {
                job.destroy();
                if (!job.waitFor(30, TimeUnit.SECONDS)) {
                    job.destroyForcibly();
                }
            }
            if (proxy != null) {
                proxy.close();
            }
            for (String slot : slots) {
                bench.dropSlot(slot);
                primary.exec("DROP PUBLICATION IF EXISTS " + slot);
            }
            if (own != null) {
                own.close();
            }
        }
    }

    private Process start(
            String name,
            Db replica,
            TcpProxy proxy,
            List<String> slots,
            List<Db> groupDb,
            boolean dolt)
            throws Exception {
        Path dir = bench.settings().work().resolve(name);
        Files.createDirectories(dir.resolve("conf"));
        Files.writeString(dir.resolve("conf/config.yaml"), "# Flink defaults\n");
        List<String> yaml =
                new ArrayList<>(
                        List.of(
                                "postgres_replication:",
                                "  postgres_server_address: " + primary.host(),
                                "  postgres_port: " + proxy.port(),
                                "  postgres_user: " + primary.user(),
                                "  postgres_password: " + primary.password(),
                                "  postgres_database: bench",
                                "behavior:",
                                "  dolt_transaction_commit: " + dolt,
                                "replica:",
                                "  kind: " + (dolt ? "doltgres" : "postgres"),
                                "  url: " + replica.url(),
                                "  user: " + replica.user(),
                                "  password: " + replica.password(),
                                "pipeline:",
                                "  id: " + name,
                                "  checkpoint_interval: 500ms",
                                "  checkpoint_dir: "
                                        + dir.toAbsolutePath().resolve("checkpoints").toUri(),
                                "startup: stream-only",
                                "groups:"));
        for (int i = 0; i < slots.size(); i++) {
            yaml.add("  - name: g" + i);
            yaml.add("    slot_name: " + slots.get(i));
            if (groupDb != null) {
                yaml.add("    replica_url: " + groupDb.get(i).url());
            }
        }
        Files.writeString(dir.resolve("pgdolt.yaml"), String.join("\n", yaml) + "\n");
        return bench.launchJob(dir);
    }

    private void awaitSlotsActive(List<String> slots, Process job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        String in = "'" + String.join("', '", slots) + "'";
        while (System.nanoTime() < deadline) {
            if (String.valueOf(slots.size())
                    .equals(
                            primary.value(
                                    "SELECT count(*) FROM pg_replication_slots WHERE active AND"
                                            + " slot_name IN ("
                                            + in
                                            + ")"))) {
                return;
            }
            checkAlive(job);
            Thread.sleep(50);
        }
        throw new IllegalStateException("the slots " + slots + " never all became active");
    }

    private static void checkAlive(Process job) {
        if (!job.isAlive()) {
            throw new IllegalStateException(
                    "pgdolt exited with " + job.exitValue() + "; see its job.log");
        }
    }

    /** History rows of all sets on the primary: one per TPC-B-like transaction. */
    private static long history(Db db) throws SQLException {
        try (Connection c = db.connect()) {
            long n = 0;
            for (int j = 0; j < SETS; j++) {
                n += historyOf(c, j);
            }
            return n;
        }
    }

    private static long historyOf(Connection c, int set) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT count(*) FROM " + set(set) + ".pgbench_history")) {
            // Doltgres 1.3 at times answers an aggregate with no row while commits land.
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    /** Dolt commits in all of {@code dbs}. */
    private long commits(List<Db> dbs) throws SQLException {
        long n = 0;
        for (Db db : new java.util.LinkedHashSet<>(dbs)) {
            n += bench.doltCommits(db);
        }
        return n;
    }

    /**
     * Waits until the replica holds {@code target} history rows; with {@code at}, records when it
     * held 30% and 95% of the rows after {@code from}, and all of them.
     */
    private static void awaitHistory(List<Db> setDb, long target, Process job, long[] at, long from)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        long span = target - from;
        java.util.Map<Db, Connection> connections = new java.util.HashMap<>();
        try {
            for (Db db : setDb) {
                if (!connections.containsKey(db)) {
                    connections.put(db, db.connect());
                }
            }
            while (System.nanoTime() < deadline) {
                long n = 0;
                long asked = System.nanoTime();
                for (int j = 0; j < SETS; j++) {
                    n += historyOf(connections.get(setDb.get(j)), j);
                }
                long now = System.nanoTime();
                if (at != null) {
                    if (at[0] == 0 && n >= from + span * 3 / 10) {
                        at[0] = now;
                        at[3] = n;
                    }
                    if (at[1] == 0 && n >= from + span * 95 / 100) {
                        at[1] = now;
                        at[4] = n;
                    }
                }
                if (n >= target) {
                    if (at != null) {
                        at[2] = now;
                    }
                    return;
                }
                checkAlive(job);
                ReplicationBenchmark.pauseAfterPoll(now - asked, 20);
            }
        } finally {
            for (Connection c : connections.values()) {
                c.close();
            }
        }
        throw new IllegalStateException(
                "the replica did not reach " + target + " history rows in 5 minutes");
    }

    private String check(
            List<Db> setDb, List<Db> groupDb, boolean dolt, long commitsBefore, long sourceTxns)
            throws SQLException {
        List<String> differences = new ArrayList<>();
        for (int j = 0; j < SETS; j++) {
            for (String q : ReplicationBenchmark.checksums(set(j))) {
                String p = primary.value(q);
                String r = setDb.get(j).value(q);
                if (!p.equals(r)) {
                    differences.add(q + ": primary " + p + ", replica " + r);
                }
            }
        }
        String commits =
                dolt
                        ? String.format(
                                "; %d Dolt commits for %d source transactions",
                                commits(groupDb) - commitsBefore, sourceTxns)
                        : String.format("; %d source transactions", sourceTxns);
        return (differences.isEmpty() ? "equal" : "DIFFERENT " + differences) + commits;
    }

    /** TPC-B-like transactions, each on one set chosen at random, from 2 clients. */
    private void pgbench(String... args) throws Exception {
        String script =
                String.join(
                        "\n",
                        "\\set s random(0, " + (SETS - 1) + ")",
                        "\\set aid random(1, 100000)",
                        "\\set tid random(1, 10)",
                        "\\set delta random(-5000, 5000)",
                        "BEGIN;",
                        "UPDATE g_:s.pgbench_accounts SET abalance = abalance + :delta WHERE aid ="
                                + " :aid;",
                        "UPDATE g_:s.pgbench_tellers SET tbalance = tbalance + :delta WHERE tid ="
                                + " :tid;",
                        "UPDATE g_:s.pgbench_branches SET bbalance = bbalance + :delta WHERE bid ="
                                + " 1;",
                        "INSERT INTO g_:s.pgbench_history (tid, bid, aid, delta, mtime) VALUES"
                                + " (:tid, 1, :aid, :delta, CURRENT_TIMESTAMP);",
                        "END;",
                        "");
        List<String> all = new ArrayList<>(List.of("-n", "-c", "2", "-j", "2"));
        all.addAll(List.of(args));
        bench.pgbenchScript("public", script, all.toArray(new String[0]));
    }
}
