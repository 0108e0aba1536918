package io.pgdolt.bench;

import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.testing.Db;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;

/**
 * The replication benchmark: the same pgbench workload replicated by each contender, in one run, on
 * one machine, into fresh replica databases. Run by {@code bench/run.sh}, which starts the servers
 * and passes their coordinates in the {@code PGDOLT_*} environment (see scripts/servers.sh).
 *
 * <p>Each contender gets its own schema on the primary (the pgbench tables, 100,000 accounts), its
 * own publication and slot, created at a quiet point right after the replica was loaded with the
 * same rows. Then, per contender:
 *
 * <ol>
 *   <li><b>Backlog.</b> With the contender stopped, pgbench commits a fixed number of TPC-B-like
 *       transactions (3 updates, 1 insert) and then large ones (one UPDATE of {@code bulk-rows}
 *       rows each), each phase closed by a marker row. The contender starts; the clock runs from
 *       the moment its slot becomes active until each marker is visible on the replica: sustained
 *       transactions/s and row changes/s. CPU seconds and memory are sampled meanwhile.
 *   <li><b>Lag.</b> pgbench offers a fixed rate; every transaction's history row is polled on the
 *       replica, and its lag is the time it became visible minus its commit time on the primary:
 *       p50, p99, max, and the series for the chart.
 *   <li><b>Headroom.</b> Offered loads at fractions of the backlog rate; the highest whose lag does
 *       not grow is reported.
 *   <li><b>Check.</b> After a last marker: the replica's tables equal the primary's (counts and
 *       sums of every table), and the Dolt commits added equal the source transactions.
 * </ol>
 *
 * <p>The raw-capacity contenders send the same statements and commits from a plain JDBC loop (one
 * connection, prepared statements, a whole TPC-B-like transaction per round trip, one batch per
 * bulk transaction): what the replica can take at best from one client.
 */
public final class ReplicationBenchmark {
    private static final String[] TABLES = {
        "pgbench_accounts", "pgbench_tellers", "pgbench_branches", "pgbench_history"
    };
    private static final int ACCOUNTS = 100_000;

    /** How pgdolt writes into Doltgres, for the raw loop to write the same way. */
    private static final io.pgdolt.replica.DoltgresDialect DOLTGRES =
            new io.pgdolt.replica.DoltgresDialect(true, "bench <bench@localhost>");

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Settings settings;
    private final Db primaryAdmin;
    private final Db primary;
    private final Db doltgres;
    private final Db pgReplica;
    private final StringBuilder log = new StringBuilder();
    private final Map<String, List<LagChart.Point>> lagSeries = new LinkedHashMap<>();
    private final List<Result> results = new ArrayList<>();
    private final List<GroupScaling.Row> groupRows = new ArrayList<>();

    /** Harness settings, from the command line. */
    record Settings(
            int backlog,
            int fastBacklog,
            int bulk,
            int bulkRows,
            int lagRate,
            int lagSeconds,
            int stepSeconds,
            int warmupSeconds,
            Path work,
            Path jar,
            Path doltgresBin,
            Path out,
            Path chart,
            List<String> only,
            int groupsBacklog,
            List<Integer> groupCounts) {}

    Settings settings() {
        return settings;
    }

    /** One contender's figures; NaN where it did not get that far, with the failure noted. */
    static final class Result {
        final String name;
        final String description;
        double txnRate = Double.NaN;
        double rowRate = Double.NaN;
        double bulkRowRate = Double.NaN;

        /** Whether {@link #bulkRowRate} is a lower bound (see Replicator#run). */
        boolean bulkAtLeast;

        double lagP50 = Double.NaN;
        double lagP99 = Double.NaN;
        double lagMax = Double.NaN;
        double heldRate = Double.NaN;
        boolean heldByLoadLimit;
        double cpuPer1000 = Double.NaN;
        double replicatorCpuPer1000 = Double.NaN;
        double peakRssMiB = Double.NaN;
        double peakHeapMiB = Double.NaN;
        String check = "not reached";
        String failure;

        Result(String name, String description) {
            this.name = name;
            this.description = description;
        }
    }

    private ReplicationBenchmark(Settings settings) {
        this.settings = settings;
        this.primaryAdmin =
                new Db(
                        env("PGDOLT_PRIMARY_HOST"),
                        Integer.parseInt(env("PGDOLT_PRIMARY_PORT")),
                        "postgres",
                        env("PGDOLT_PRIMARY_USER"),
                        env("PGDOLT_PRIMARY_PASSWORD"));
        this.primary = primaryAdmin.withDatabase("bench");
        this.doltgres =
                new Db(
                        env("PGDOLT_DOLTGRES_HOST"),
                        Integer.parseInt(env("PGDOLT_DOLTGRES_PORT")),
                        "postgres",
                        env("PGDOLT_DOLTGRES_USER"),
                        env("PGDOLT_DOLTGRES_PASSWORD"));
        this.pgReplica =
                new Db(
                        env("PGDOLT_PGREPLICA_HOST"),
                        Integer.parseInt(env("PGDOLT_PGREPLICA_PORT")),
                        "postgres",
                        env("PGDOLT_PGREPLICA_USER"),
                        env("PGDOLT_PGREPLICA_PASSWORD"));
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Settings s =
                new Settings(
                        Integer.parseInt(a.getOrDefault("backlog", "4000")),
                        Integer.parseInt(a.getOrDefault("fast-backlog", "12000")),
                        Integer.parseInt(a.getOrDefault("bulk", "20")),
                        Integer.parseInt(a.getOrDefault("bulk-rows", "1000")),
                        Integer.parseInt(a.getOrDefault("lag-rate", "20")),
                        Integer.parseInt(a.getOrDefault("lag-seconds", "12")),
                        Integer.parseInt(a.getOrDefault("step-seconds", "8")),
                        Integer.parseInt(a.getOrDefault("warmup-seconds", "30")),
                        Path.of(a.getOrDefault("work", "target/bench-work")),
                        Path.of(a.get("jar")),
                        Path.of(a.get("doltgres-bin")),
                        Path.of(a.getOrDefault("out", "BENCHMARKS.md")),
                        Path.of(a.getOrDefault("chart", "bench/results/lag.png")),
                        a.containsKey("only") ? List.of(a.get("only").split(",")) : List.of(),
                        Integer.parseInt(a.getOrDefault("groups-backlog", "2000")),
                        java.util.Arrays.stream(a.getOrDefault("groups", "1,2,4").split(","))
                                .map(Integer::parseInt)
                                .toList());
        new ReplicationBenchmark(s).run();
    }

    private void run() throws Exception {
        Instant started = Instant.now();
        Files.createDirectories(settings.work());
        say(
                "workload: backlog of %d TPC-B-like transactions (%d for contenders of over 1,000"
                        + " txn/s) + %d transactions of %d rows; lag at %d txn/s for %d s",
                settings.backlog(),
                settings.fastBacklog(),
                settings.bulk(),
                settings.bulkRows(),
                settings.lagRate(),
                settings.lagSeconds());
        primaryAdmin.exec("DROP DATABASE IF EXISTS bench WITH (FORCE)", "CREATE DATABASE bench");
        List<Contender> contenders =
                List.of(
                        new RawLoop("raw-doltgres", null, true, false),
                        new RawLoop("raw-doltgres-progress", null, true, true),
                        new Builtin(),
                        new Pgdolt("pgdolt-doltgres", null, "doltgres", "transaction"),
                        new Pgdolt("pgdolt-doltgres-ckpt", null, "doltgres", "checkpoint"),
                        new RawLoop("raw-postgres", pgReplica, false, false),
                        new RawLoop("raw-postgres-progress", pgReplica, false, true),
                        new Native(),
                        new Pgdolt("pgdolt-postgres", pgReplica, "postgres", "transaction"),
                        new Pgdolt("pgdolt-postgres-ckpt", pgReplica, "postgres", "checkpoint"));
        for (Contender c : contenders) {
            if (!settings.only().isEmpty() && !settings.only().contains(c.name())) {
                continue;
            }
            Result r = new Result(c.name(), c.description());
            results.add(r);
            say("== %s: %s", c.name(), c.description());
            try {
                c.run(r);
            } catch (Exception e) {
                r.failure = e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
                say("%s FAILED: %s", c.name(), r.failure);
                e.printStackTrace();
            } finally {
                try {
                    c.stop();
                } catch (Exception e) {
                    say("%s: stopping failed: %s", c.name(), e.getMessage());
                }
            }
        }
        GroupScaling scaling = new GroupScaling(this, primary, settings.groupsBacklog());
        for (String variant : List.of("doltgres", "doltgres-dbs", "postgres")) {
            if (!settings.only().isEmpty() && !settings.only().contains("groups-" + variant)) {
                continue;
            }
            String kind = variant.startsWith("doltgres") ? "doltgres" : "postgres";
            boolean separate = variant.endsWith("-dbs");
            for (int g : settings.groupCounts()) {
                if (separate && g == 1) {
                    continue; // the same as one group into one database
                }
                GroupScaling.Row row = new GroupScaling.Row(kind, g, separate);
                groupRows.add(row);
                say(
                        "== %s: pgdolt → %s with %d replication group(s)%s",
                        row.name(), kind, g, separate ? ", a database each" : "");
                try {
                    scaling.run(row, kind.equals("doltgres") ? null : pgReplica);
                } catch (Exception e) {
                    row.failure = e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
                    say("%s FAILED: %s", row.name(), row.failure);
                    e.printStackTrace();
                }
            }
        }
        LagChart.write(
                settings.chart(),
                "Replication lag at " + settings.lagRate() + " offered txn/s (pgbench TPC-B-like)",
                lagSeries);
        writeReport(Duration.between(started, Instant.now()));
        say("wrote %s and %s", settings.out(), settings.chart());
    }

    // ---------------------------------------------------------------- contenders

    private interface Contender {
        String name();

        String description();

        void run(Result r) throws Exception;

        default void stop() throws Exception {}
    }

    /** A replicating contender: load, backlog, lag, headroom, check. */
    private abstract class Replicator implements Contender {
        final String schema;
        Db replica;
        final boolean dolt;
        long processPid = -1;
        long replicaPid;
        io.pgdolt.testing.TcpProxy proxy;

        Replicator(String name, Db replica, boolean dolt) {
            this.schema = "c_" + name.replace('-', '_');
            this.replica = replica;
            this.dolt = dolt;
        }

        String slot() {
            return "s_" + schema.substring(2);
        }

        /** Whether it applies well over 1,000 txn/s, so gets the longer backlog. */
        boolean fast() {
            return !dolt;
        }

        /** TPC-B-like transactions in its backlog. */
        int backlog() {
            return backlogOf(fast());
        }

        /** Prepares the contender's replica database and anything else, before its slot exists. */
        abstract void prepare() throws Exception;

        /** Starts replicating from the slot. */
        abstract void start() throws Exception;

        /** The process (tree) doing the replication work outside the replica server, or -1. */
        long replicatorPid() {
            return processPid;
        }

        /** Peak heap of the replicator in MiB from its own metrics, NaN if it has none. */
        double heapMiB() {
            return Double.NaN;
        }

        @Override
        public void run(Result r) throws Exception {
            createSourceTables(schema);
            prepare();
            loadReplica(primary, replica, schema, dolt);
            primary.exec(
                    "CREATE PUBLICATION "
                            + slot()
                            + " FOR TABLE "
                            + String.join(", ", qualified(schema)),
                    "SELECT pg_create_logical_replication_slot('" + slot() + "', 'pgoutput')");
            long commitsBefore = dolt ? doltCommits(replica) : 0;
            // The contender reaches the primary through a proxy that can hold its traffic.
            proxy = new io.pgdolt.testing.TcpProxy(primary.host(), primary.port());
            say("%s: starting", name());
            start();
            waitActive();
            Sampler sampler = new Sampler(this);
            sampler.start();
            // Warm-up: a long-running replicator is warm (JIT, caches, connections). By time, at a
            // load every contender holds: a JVM's JIT needs seconds of work, not a count.
            pgbench(
                    schema,
                    "-n",
                    "-c",
                    "2",
                    "-j",
                    "2",
                    "-R",
                    "" + warmupRate(dolt),
                    "-T",
                    "" + settings.warmupSeconds());
            waitVisible(schema, marker(schema), Duration.ofMinutes(5));
            // Lag at a fixed offered load.
            List<LagChart.Point> series = new ArrayList<>();
            List<Double> lags = lagPhase(schema, settings.lagRate(), settings.lagSeconds(), series);
            lagSeries.put(name(), series);
            r.lagP50 = percentile(lags, 50);
            r.lagP99 = percentile(lags, 99);
            r.lagMax = percentile(lags, 100);
            say("%s: lag p50 %.0f ms, p99 %.0f ms", name(), r.lagP50, r.lagP99);
            // Backlog: the contender's traffic is held while the primary commits it.
            proxy.pause();
            long markerA;
            long markerB;
            try {
                say("%s: holding its replication stream; committing the backlog", name());
                pgbench(schema, "-n", "-c", "2", "-j", "2", "-t", "" + backlog() / 2);
                markerA = marker(schema);
                pgbenchScript(schema, bulkScript(), "-n", "-c", "1", "-t", "" + settings.bulk());
                markerB = marker(schema);
            } finally {
                proxy.resume();
            }
            long t0 = System.nanoTime();
            double cpu0 = cpu();
            double rep0 = replicatorPid() > 0 ? ProcStats.cpuSeconds(replicatorPid()) : 0;
            long first = markerA - backlog();
            long[] at = progress(schema, first, markerA);
            long tA = at[2];
            // Sustained: from 30% to 95% of the backlog visible (the tail excluded).
            r.txnRate =
                    at[1] > at[0] && at[4] > at[3]
                            ? (at[4] - at[3]) / ((at[1] - at[0]) / 1e9)
                            : backlog() / (Math.max(tA - t0, 1_000_000) / 1e9);
            r.rowRate = r.txnRate * 4;
            say(
                    "%s: TPC-B-like backlog at %.1f txn/s sustained (%.1f s for all of it)",
                    name(), r.txnRate, (tA - t0) / 1e9);
            long tB = waitVisible(schema, markerB, Duration.ofMinutes(5));
            double bulkRows = settings.bulk() * (double) settings.bulkRows();
            if (tB - tA < 50_000_000L) {
                // The bulk phase became visible within a couple of polls (20 ms each) of the end
                // of the TPC-B-like one, as when one commit per checkpoint holds both: its own
                // time cannot be told apart. All
                // of it was applied within the whole held backlog's time, so that gives a bound.
                r.bulkRowRate = bulkRows / ((tB - t0) / 1e9);
                r.bulkAtLeast = true;
                say(
                        "%s: bulk backlog visible %.0f ms after the TPC-B-like one, too close to"
                                + " time apart: at least %.0f row changes/s (over the whole held"
                                + " backlog)",
                        name(), (tB - tA) / 1e6, r.bulkRowRate);
            } else {
                r.bulkRowRate = bulkRows / ((tB - tA) / 1e9);
                say("%s: bulk backlog at %.0f row changes/s", name(), r.bulkRowRate);
            }
            double cpu1 = cpu();
            double rep1 = replicatorPid() > 0 ? ProcStats.cpuSeconds(replicatorPid()) : 0;
            double allTxns = backlog() + settings.bulk() + 1;
            r.cpuPer1000 = (cpu1 - cpu0) / allTxns * 1000;
            r.replicatorCpuPer1000 =
                    replicatorPid() > 0 ? (rep1 - rep0) / allTxns * 1000 : Double.NaN;
            // Headroom.
            r.heldRate = 0;
            for (double f : new double[] {0.5, 0.75, 0.9}) {
                int rate = (int) Math.max(1, Math.min(100_000, Math.floor(r.txnRate * f)));
                List<LagChart.Point> step = new ArrayList<>();
                lagPhase(schema, rate, settings.stepSeconds(), step);
                boolean held = notGrowing(step);
                say("%s: %d txn/s offered: lag %s", name(), rate, held ? "steady" : "grows");
                if (!held) {
                    break;
                }
                r.heldRate = Double.isNaN(achievedTps) ? rate : Math.min(rate, achievedTps);
                if (!Double.isNaN(achievedTps) && achievedTps < 0.85 * rate) {
                    // pgbench could not offer more: the contender held all there was.
                    r.heldByLoadLimit = true;
                    break;
                }
            }
            sampler.stop();
            r.peakRssMiB = sampler.peakRss;
            r.peakHeapMiB = heapMiB();
            // Check.
            long last = marker(schema);
            waitVisible(schema, last, Duration.ofMinutes(5));
            r.check = check(schema, replica, dolt, commitsBefore);
            say("%s: check: %s", name(), r.check);
        }

        /** The primary as the contender reaches it: through the proxy. */
        Db via() {
            return new Db(
                    primary.host(), proxy.port(), "bench", primary.user(), primary.password());
        }

        void closeProxy() throws IOException {
            if (proxy != null) {
                proxy.close();
            }
        }

        private long waitActive() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (System.nanoTime() < deadline) {
                if ("t"
                        .equals(
                                primary.value(
                                        "SELECT active FROM pg_replication_slots WHERE slot_name ="
                                                + " '"
                                                + slot()
                                                + "'"))) {
                    return System.nanoTime();
                }
                checkAlive();
                Thread.sleep(20);
            }
            throw new IllegalStateException("slot " + slot() + " never became active");
        }

        /** Throws if the contender's process died. */
        void checkAlive() {}

        double cpu() {
            double c = ProcStats.cpuSeconds(replicaPid);
            if (replicatorPid() > 0) {
                c += ProcStats.cpuSeconds(replicatorPid());
            }
            return c;
        }

        /** Check: tables equal, commits counted. */
        private String check(String schema, Db replica, boolean dolt, long commitsBefore)
                throws SQLException {
            List<String> differences = new ArrayList<>();
            for (String q : checksums(schema)) {
                String p = primary.value(q);
                String rv = replica.value(q);
                if (!p.equals(rv)) {
                    differences.add(q + ": primary " + p + ", replica " + rv);
                }
            }
            long sourceTxns =
                    Long.parseLong(
                                    primary.value(
                                            "SELECT count(*) FROM " + schema + ".pgbench_history"))
                            + settings.bulk();
            String commits = "";
            if (dolt) {
                long added = doltCommits(replica) - commitsBefore;
                commits =
                        String.format(
                                "; %d Dolt commits for %d source transactions%s",
                                added, sourceTxns, added == sourceTxns ? " (one each)" : "");
            } else {
                commits = String.format("; %d source transactions", sourceTxns);
            }
            return (differences.isEmpty() ? "equal" : "DIFFERENT " + differences) + commits;
        }
    }

    /** pgdolt, run with java -jar (embedded Flink) as a user would. */
    private final class Pgdolt extends Replicator {
        private final String name;
        private final String kind;
        private final String granularity;
        private Process process;
        private int metricsPort;
        private volatile double heapPeak = Double.NaN;

        private DoltgresServer own;

        /** Into {@code server}, or (null) into a fresh Doltgres of its own. */
        Pgdolt(String name, Db server, String kind, String granularity) {
            super(
                    name,
                    server == null ? null : server.withDatabase("bench_" + name.replace('-', '_')),
                    kind.equals("doltgres"));
            this.name = name;
            this.kind = kind;
            this.granularity = granularity;
        }

        @Override
        boolean fast() {
            return !dolt || granularity.equals("checkpoint");
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String description() {
            return "pgdolt → "
                    + (kind.equals("doltgres") ? "Doltgres" : "PostgreSQL")
                    + (kind.equals("doltgres")
                            ? granularity.equals("checkpoint")
                                    ? ", one Dolt commit per checkpoint"
                                    : ", one Dolt commit per source transaction"
                            : granularity.equals("checkpoint")
                                    ? ", one replica transaction per checkpoint"
                                    : ", one replica transaction per source transaction");
        }

        @Override
        void prepare() throws Exception {
            if (replica == null) {
                own =
                        new DoltgresServer(
                                settings.doltgresBin(), settings.work().resolve(name + "-replica"));
                own.start(null, null);
                replica = own.db();
                replicaPid = own.pid();
            } else {
                recreateDatabase(replica);
                replicaPid = pgReplicaPid();
            }
        }

        @Override
        void start() throws Exception {
            Path dir = settings.work().resolve(name);
            Files.createDirectories(dir.resolve("conf"));
            metricsPort = freePort();
            Files.writeString(
                    dir.resolve("conf/config.yaml"),
                    String.join(
                            "\n",
                            "metrics.reporter.prom.factory.class:"
                                + " org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                            "metrics.reporter.prom.host: 127.0.0.1",
                            "metrics.reporter.prom.port: " + metricsPort,
                            ""));
            Files.writeString(
                    dir.resolve("pgdolt.yaml"),
                    String.join(
                            "\n",
                            "postgres_replication:",
                            "  postgres_server_address: " + via().host(),
                            "  postgres_port: " + via().port(),
                            "  postgres_user: " + primary.user(),
                            "  postgres_password: " + primary.password(),
                            "  postgres_database: bench",
                            "  slot_name: " + slot(),
                            "  publication_name: " + slot(),
                            "behavior:",
                            "  dolt_transaction_commit: " + kind.equals("doltgres"),
                            "replica:",
                            "  kind: " + kind,
                            "  url: " + replica.url(),
                            "  user: " + replica.user(),
                            "  password: " + replica.password(),
                            "  commit_granularity: " + granularity,
                            "pipeline:",
                            "  id: " + name,
                            "  checkpoint_interval: 500ms",
                            "  checkpoint_dir: "
                                    + dir.toAbsolutePath().resolve("checkpoints").toUri(),
                            "startup: stream-only",
                            ""));
            process = launchJob(dir);
            processPid = process.pid();
        }

        @Override
        void checkAlive() {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException(
                        "pgdolt exited with " + process.exitValue() + "; see its job.log");
            }
        }

        @Override
        double heapMiB() {
            return heapPeak;
        }

        /** Samples the TaskManager heap from the job's Prometheus endpoint. */
        void sampleHeap() {
            double mib = metric("flink_taskmanager_Status_JVM_Memory_Heap_Used") / (1024 * 1024);
            if (!Double.isNaN(mib)) {
                heapPeak = Double.isNaN(heapPeak) ? mib : Math.max(heapPeak, mib);
            }
        }

        /** The job's own metric {@code name} (summed over its series), or NaN. */
        double metric(String metricName) {
            try {
                HttpResponse<String> resp =
                        HTTP.send(
                                HttpRequest.newBuilder(
                                                URI.create(
                                                        "http://127.0.0.1:"
                                                                + metricsPort
                                                                + "/metrics"))
                                        .timeout(Duration.ofSeconds(2))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                double sum = Double.NaN;
                for (String line : resp.body().split("\n")) {
                    if (line.startsWith(metricName + "{") || line.startsWith(metricName + " ")) {
                        double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                        sum = Double.isNaN(sum) ? v : sum + v;
                    }
                }
                return sum;
            } catch (IOException | InterruptedException | RuntimeException e) {
                return Double.NaN;
            }
        }

        @Override
        public void run(Result r) throws Exception {
            super.run(r);
            double applied =
                    metric("flink_taskmanager_job_task_operator_pgdolt_transactionsApplied");
            double lag = metric("flink_taskmanager_job_task_operator_pgdolt_replicationLagMs");
            double commits = metric("flink_taskmanager_job_task_operator_pgdolt_replicaCommits");
            // A failover is survivable (exactly-once holds) but it costs the figures, and the
            // operator metrics above start again from 0: it must show.
            double restarts = metric("flink_jobmanager_job_numRestarts");
            r.check +=
                    String.format(
                            "; job metrics: transactionsApplied %.0f, replicaCommits %.0f,"
                                    + " replicationLagMs %.0f, job restarts %s",
                            applied,
                            commits,
                            lag,
                            Double.isNaN(restarts) ? "unknown" : String.format("%.0f", restarts));
            if (restarts > 0) {
                r.check += " (**the job failed over during this run; see its job.log**)";
            }
        }

        @Override
        public void stop() throws Exception {
            if (process != null) {
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
            closeProxy();
            dropSlot(slot());
            if (own != null) {
                own.close();
            }
        }
    }

    /** Doltgres's built-in replicator, configured as its docs say, in a Doltgres of its own. */
    private final class Builtin extends Replicator {
        private DoltgresServer server;

        Builtin() {
            super("builtin-doltgres", null, true);
        }

        @Override
        public String name() {
            return "builtin-doltgres";
        }

        @Override
        public String description() {
            return "Doltgres's built-in replicator (postgres_replication stanza,"
                    + " dolt_transaction_commit: true)";
        }

        @Override
        void prepare() throws Exception {
            server = new DoltgresServer(settings.doltgresBin(), settings.work().resolve(name()));
            server.start(null, null);
            // The replica is this contender's own server: the replicator writes to its postgres
            // database.
            replica = server.db();
            replicaPid = server.pid();
        }

        @Override
        void start() throws Exception {
            // Restart the server with the replication stanza: it starts replicating at once.
            server.close();
            server.start(via(), slot());
            replicaPid = server.pid();
        }

        @Override
        void checkAlive() {
            if (!server.isAlive()) {
                throw new IllegalStateException("the built-in replicator's Doltgres exited");
            }
        }

        @Override
        long replicatorPid() {
            return -1; // inside the replica server
        }

        @Override
        public void stop() throws Exception {
            if (server != null) {
                server.close();
            }
            closeProxy();
            dropSlot(slot());
        }
    }

    /** PostgreSQL's native logical replication into a PostgreSQL subscriber. */
    private final class Native extends Replicator {
        Native() {
            super("native-postgres", pgReplica.withDatabase("bench_native_postgres"), false);
        }

        @Override
        public String name() {
            return "native-postgres";
        }

        @Override
        public String description() {
            return "PostgreSQL native logical replication into a PostgreSQL subscriber";
        }

        @Override
        void prepare() throws Exception {
            recreateDatabase(replica);
            replicaPid = pgReplicaPid();
        }

        @Override
        void start() throws Exception {
            replica.exec(
                    "CREATE SUBSCRIPTION sub_bench CONNECTION 'host="
                            + via().host()
                            + " port="
                            + via().port()
                            + " user="
                            + primary.user()
                            + " password="
                            + primary.password()
                            + " dbname=bench' PUBLICATION "
                            + slot()
                            + " WITH (create_slot = false, slot_name = '"
                            + slot()
                            + "', copy_data = false)");
        }

        @Override
        long replicatorPid() {
            return -1; // the apply worker is a process of the replica server
        }

        @Override
        public void stop() throws Exception {
            try {
                replica.exec(
                        "ALTER SUBSCRIPTION sub_bench DISABLE",
                        "ALTER SUBSCRIPTION sub_bench SET (slot_name = NONE)",
                        "DROP SUBSCRIPTION sub_bench");
            } finally {
                closeProxy();
                dropSlot(slot());
            }
        }
    }

    /**
     * The replica's capacity from one plain JDBC client: the statements pgdolt sends for the same
     * transactions (full-row UPDATEs by key, INSERT, casts from text), prepared, and the same
     * commit (on Doltgres dolt_commit with message, author and date). A TPC-B-like transaction goes
     * in one round trip (BEGIN, its statements, the commit); a bulk one as one batch, then the
     * commit.
     */
    private final class RawLoop implements Contender {
        private final String name;
        private Db replica;
        private final boolean dolt;
        private final boolean progress;

        private DoltgresServer own;

        /**
         * Into {@code server}, or (null) into a fresh Doltgres of its own; with {@code progress},
         * each transaction also moves a progress row (the exactly-once bookkeeping pgdolt does in
         * each transaction into PostgreSQL; into Doltgres once per checkpoint's run).
         */
        RawLoop(String name, Db server, boolean dolt, boolean progress) {
            this.name = name;
            this.replica =
                    server == null ? null : server.withDatabase("bench_" + name.replace('-', '_'));
            this.dolt = dolt;
            this.progress = progress;
        }

        @Override
        public void stop() throws Exception {
            if (own != null) {
                own.close();
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String description() {
            return "plain JDBC loop, same statements and commits, into "
                    + (dolt ? "Doltgres" : "PostgreSQL")
                    + (progress
                            ? ", each transaction also moving a progress row (as pgdolt's does"
                                    + " into PostgreSQL)"
                            : " (raw capacity)");
        }

        @Override
        public void run(Result r) throws Exception {
            String schema = "c_" + name.replace('-', '_');
            createSourceTables(schema);
            long pid;
            if (replica == null) {
                own = new DoltgresServer(settings.doltgresBin(), settings.work().resolve(name));
                own.start(null, null);
                replica = own.db();
                pid = own.pid();
            } else {
                recreateDatabase(replica);
                pid = pgReplicaPid();
            }
            loadReplica(primary, replica, schema, dolt);
            if (progress) {
                createProgressRow();
            }
            Random random = new Random(42);
            int backlog = backlogOf(!dolt);
            try (Connection c = connectAsPgdolt()) {
                c.setAutoCommit(false);
                String s = schema + ".";
                // Bound as pgdolt binds them into this replica (ReplicaSession.param).
                String acc =
                        "UPDATE "
                                + s
                                + "pgbench_accounts SET bid = "
                                + p("int4")
                                + ", abalance = "
                                + p("int4")
                                + ", filler = "
                                + p("bpchar")
                                + " WHERE aid = "
                                + p("int4");
                PreparedStatement account = c.prepareStatement(acc);
                PreparedStatement commit =
                        c.prepareStatement(
                                "SELECT dolt_commit('-A', '-m', ?, '--author', ?, '--date', ?)");
                // A whole TPC-B-like transaction in one round trip, as pgdolt sends one: the
                // statements, the commit (on Doltgres dolt_commit, which also ends the SQL
                // transaction) and COMMIT, one multi-statement prepared statement.
                String[] tpcb = {
                    acc,
                    "UPDATE "
                            + s
                            + "pgbench_tellers SET bid = "
                            + p("int4")
                            + ", tbalance = "
                            + p("int4")
                            + ", filler = "
                            + p("bpchar")
                            + " WHERE tid = "
                            + p("int4"),
                    "UPDATE "
                            + s
                            + "pgbench_branches SET bbalance = "
                            + p("int4")
                            + ", filler = "
                            + p("bpchar")
                            + " WHERE bid = "
                            + p("int4"),
                    "INSERT INTO "
                            + s
                            + "pgbench_history (hid, tid, bid, aid, delta, mtime, filler) VALUES ("
                            + String.join(
                                    ", ",
                                    p("int8"),
                                    p("int4"),
                                    p("int4"),
                                    p("int4"),
                                    p("int4"),
                                    p("timestamp"),
                                    p("bpchar"))
                            + ")"
                };
                if (progress) {
                    // First, as pgdolt sends it: the compare-and-set of the progress row.
                    String[] with = new String[tpcb.length + 1];
                    with[0] = ReplicaSession.PROGRESS_UPDATE;
                    System.arraycopy(tpcb, 0, with, 1, tpcb.length);
                    tpcb = with;
                }
                c.setAutoCommit(true);
                PreparedStatement txn =
                        c.prepareStatement(
                                "BEGIN;\n"
                                        + String.join(";\n", tpcb)
                                        + (dolt
                                                ? ";\nSELECT dolt_commit('-A', '-m', ?, '--author',"
                                                        + " ?, '--date', ?)"
                                                : "")
                                        + ";\nCOMMIT");
                double cpu0 = ProcStats.cpuSeconds(pid);
                long t0 = System.nanoTime();
                for (int i = 0; i < backlog; i++) {
                    int aid = 1 + random.nextInt(ACCOUNTS);
                    int tid = 1 + random.nextInt(10);
                    String[] values = {
                        "1",
                        Integer.toString(random.nextInt(10000)),
                        null,
                        Integer.toString(aid),
                        "1",
                        Integer.toString(random.nextInt(10000)),
                        null,
                        Integer.toString(tid),
                        Integer.toString(random.nextInt(10000)),
                        null,
                        "1",
                        Integer.toString(i + 1),
                        Integer.toString(tid),
                        "1",
                        Integer.toString(aid),
                        Integer.toString(random.nextInt(10000) - 5000),
                        LocalDateTime.now(ZoneOffset.UTC).toString(),
                        null
                    };
                    int p = 1;
                    if (progress) {
                        txn.setString(p++, "0/" + Integer.toHexString(i + 1));
                        txn.setString(p++, Integer.toString(i + 1));
                        txn.setString(p++, "2026-01-01T00:00:00Z");
                        txn.setString(p++, "raw-loop");
                        txn.setString(p++, "raw-loop");
                        txn.setString(p++, "0/" + Integer.toHexString(i));
                    }
                    for (String v : values) {
                        txn.setString(p++, v);
                    }
                    if (dolt) {
                        txn.setString(p++, "raw loop transaction " + i);
                        txn.setString(p++, "bench <bench@localhost>");
                        txn.setString(p, "2026-01-01T00:00:00Z");
                    }
                    checkOneRowEach(txn, tpcb.length, i);
                }
                long t1 = System.nanoTime();
                r.txnRate = backlog / ((t1 - t0) / 1e9);
                r.rowRate = r.txnRate * 4;
                say("%s: TPC-B-like at %.1f txn/s", name, r.txnRate);
                c.setAutoCommit(false);
                for (int i = 0; i < settings.bulk(); i++) {
                    int from = 1 + random.nextInt(ACCOUNTS - settings.bulkRows());
                    for (int k = 0; k < settings.bulkRows(); k++) {
                        account.setString(1, "1");
                        account.setString(2, Integer.toString(random.nextInt(10000)));
                        account.setString(3, null);
                        account.setString(4, Integer.toString(from + k));
                        account.addBatch();
                    }
                    account.executeBatch();
                    commit(c, commit, backlog + i);
                }
                long t2 = System.nanoTime();
                r.bulkRowRate = settings.bulk() * (double) settings.bulkRows() / ((t2 - t1) / 1e9);
                r.cpuPer1000 =
                        (ProcStats.cpuSeconds(pid) - cpu0) / (backlog + settings.bulk()) * 1000;
                say("%s: bulk at %.0f row changes/s", name, r.bulkRowRate);
                r.check = "n/a (no replication)";
            }
        }

        /** How pgdolt binds a text value for a column of cast type {@code type} here. */
        private String p(String type) {
            return dialect().parameter(type);
        }

        private io.pgdolt.replica.ReplicaDialect dialect() {
            return dolt ? DOLTGRES : new io.pgdolt.replica.PostgresDialect();
        }

        /** A connection to the replica set up as pgdolt's sessions into it are. */
        private Connection connectAsPgdolt() throws SQLException {
            return ReplicaSession.connect(
                    replica.url(),
                    replica.user(),
                    new io.pgdolt.config.Secret(replica.password()),
                    name,
                    dialect());
        }

        /** The progress table and its row at 0/0, kept out of Dolt commits as pgdolt keeps it. */
        private void createProgressRow() throws SQLException {
            try (Connection c = replica.connect();
                    Statement st = c.createStatement()) {
                c.setAutoCommit(true);
                if (dolt) {
                    st.execute("INSERT INTO dolt_ignore VALUES ('pgdolt_progress', true)");
                }
                st.execute(ReplicaSession.PROGRESS_TABLE_DDL);
                st.execute(
                        "INSERT INTO public.pgdolt_progress VALUES ('raw-loop', '0/0', 0, now(),"
                                + " 'raw-loop')");
                if (dolt) {
                    st.execute("SELECT dolt_commit('-A', '-m', 'bench: progress table ignored')");
                }
            }
        }

        /**
         * Runs one round trip of {@code txn} and fails unless each of its first {@code changes}
         * data statements changed exactly one row (its BEGIN, dolt_commit and COMMIT aside).
         */
        private void checkOneRowEach(PreparedStatement txn, int changes, int i)
                throws SQLException {
            List<Integer> counts = new ArrayList<>();
            boolean results = txn.execute();
            while (true) {
                if (results) {
                    txn.getResultSet().close();
                } else {
                    int n = txn.getUpdateCount();
                    if (n == -1) {
                        break;
                    }
                    counts.add(n);
                }
                results = txn.getMoreResults();
            }
            // BEGIN, the data statements, COMMIT: Doltgres reports 0 for an UPDATE that wrote
            // the values the row had, so only a count above 1 or a missing one is an error there.
            if (counts.size() != changes + 2) {
                throw new IllegalStateException(
                        name + ": transaction " + i + " reported " + counts + " row counts");
            }
            for (int k = 1; k <= changes; k++) {
                int n = counts.get(k);
                if (n > 1 || (n != 1 && !dolt)) {
                    throw new IllegalStateException(
                            name + ": transaction " + i + " changed " + counts + " rows");
                }
            }
        }

        private void commit(Connection c, PreparedStatement doltCommit, int i) throws SQLException {
            if (dolt) {
                doltCommit.setString(1, "raw loop transaction " + i);
                doltCommit.setString(2, "bench <bench@localhost>");
                doltCommit.setString(3, "2026-01-01T00:00:00Z");
                try (ResultSet rs = doltCommit.executeQuery()) {
                    rs.next();
                }
            }
            c.commit();
        }
    }

    // ---------------------------------------------------------------- measuring

    /** Samples memory (and the job's heap) every 500 ms while a contender runs. */
    private static final class Sampler {
        private final Replicator contender;
        private volatile boolean running = true;
        private Thread thread;
        volatile double peakRss = Double.NaN;

        Sampler(Replicator contender) {
            this.contender = contender;
        }

        void start() {
            thread =
                    new Thread(
                            () -> {
                                while (running) {
                                    long pid =
                                            contender.replicatorPid() > 0
                                                    ? contender.replicatorPid()
                                                    : -1;
                                    if (pid > 0) {
                                        double rss = ProcStats.rssMiB(pid);
                                        peakRss =
                                                Double.isNaN(peakRss)
                                                        ? rss
                                                        : Math.max(peakRss, rss);
                                    }
                                    if (contender instanceof Pgdolt) {
                                        ((Pgdolt) contender).sampleHeap();
                                    }
                                    try {
                                        // Scraping the job's metrics costs it CPU: not too often.
                                        Thread.sleep(2000);
                                    } catch (InterruptedException e) {
                                        return;
                                    }
                                }
                            },
                            "bench-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.interrupt();
            thread.join();
        }
    }

    /**
     * Offers {@code rate} TPC-B-like transactions/s for {@code seconds}, and polls every history
     * row on the replica: its lag is when it was first seen there minus its commit time (the
     * transaction's timestamp on the primary). Polled every 25 ms; waits until the last row is
     * seen.
     */
    private List<Double> lagPhase(String schema, int rate, int seconds, List<LagChart.Point> series)
            throws Exception {
        Db replica = replicaOf(schema);
        long lastSeen;
        try (Connection c = replica.connect()) {
            lastSeen =
                    Long.parseLong(
                            Db.rows(
                                            c,
                                            "SELECT coalesce(max(hid), 0) FROM "
                                                    + schema
                                                    + ".pgbench_history")
                                    .get(0)
                                    .get(0));
        }
        Process load =
                pgbenchProcess(
                        schema, "-n", "-c", "2", "-j", "2", "-R", "" + rate, "-T", "" + seconds);
        long phaseStart = System.currentTimeMillis();
        List<Double> lags = new ArrayList<>();
        long target = -1;
        try (Connection c = replica.connect()) {
            c.setAutoCommit(true);
            PreparedStatement poll =
                    c.prepareStatement(
                            "SELECT hid, CAST(mtime AS text) FROM "
                                    + schema
                                    + ".pgbench_history WHERE hid > CAST(? AS int8) ORDER BY hid");
            long deadline = System.currentTimeMillis() + (seconds + 120) * 1000L;
            while (System.currentTimeMillis() < deadline) {
                poll.setString(1, Long.toString(lastSeen));
                try (ResultSet rs = poll.executeQuery()) {
                    long now = System.currentTimeMillis();
                    while (rs.next()) {
                        lastSeen = rs.getLong(1);
                        long committed =
                                LocalDateTime.parse(rs.getString(2).replace(' ', 'T'))
                                        .toInstant(ZoneOffset.UTC)
                                        .toEpochMilli();
                        double lag = Math.max(0, now - committed);
                        lags.add(lag);
                        series.add(new LagChart.Point((committed - phaseStart) / 1000.0, lag));
                    }
                }
                if (target < 0 && !load.isAlive()) {
                    String output =
                            new String(
                                    load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    java.util.regex.Matcher tps =
                            java.util.regex.Pattern.compile("tps = ([0-9.]+)").matcher(output);
                    achievedTps = tps.find() ? Double.parseDouble(tps.group(1)) : Double.NaN;
                    if (load.exitValue() != 0) {
                        throw new IllegalStateException("pgbench failed: " + output);
                    }
                    target =
                            Long.parseLong(
                                    primary.value(
                                            "SELECT coalesce(max(hid), 0) FROM "
                                                    + schema
                                                    + ".pgbench_history"));
                }
                if (target >= 0 && lastSeen >= target) {
                    return lags;
                }
                Thread.sleep(25);
            }
        } finally {
            load.destroy();
        }
        throw new IllegalStateException(
                "the replica did not catch up within 2 minutes after the load");
    }

    /** What pgbench reported it achieved in the last lag phase (it may fall short of -R). */
    private double achievedTps = Double.NaN;

    /**
     * Whether lag stayed flat: the last third's median at most the first third's plus the larger of
     * 500 ms and the first third's median itself.
     */
    static boolean notGrowing(List<LagChart.Point> step) {
        if (step.size() < 6) {
            return false;
        }
        int third = step.size() / 3;
        List<Double> first = new ArrayList<>();
        List<Double> last = new ArrayList<>();
        for (int i = 0; i < third; i++) {
            first.add(step.get(i).lagMs());
            last.add(step.get(step.size() - 1 - i).lagMs());
        }
        double start = percentile(first, 50);
        // Checkpoint-paced apply makes lag a saw-tooth of up to an interval or so: only a lag that
        // grows by more than that (and more than it started at) counts as growing.
        return percentile(last, 50) <= start + Math.max(500, start);
    }

    static double percentile(List<Double> values, double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    // ---------------------------------------------------------------- servers and data

    private final Map<String, Db> replicas = new HashMap<>();

    private Db replicaOf(String schema) {
        return replicas.get(schema);
    }

    void createSourceTables(String schema) throws Exception {
        primary.exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema);
        pgbench(schema, "-i", "-I", "dtg", "-s", "1", "-q");
        primary.exec(
                "ALTER TABLE " + schema + ".pgbench_branches ADD PRIMARY KEY (bid)",
                "ALTER TABLE " + schema + ".pgbench_tellers ADD PRIMARY KEY (tid)",
                "ALTER TABLE " + schema + ".pgbench_accounts ADD PRIMARY KEY (aid)",
                "ALTER TABLE " + schema + ".pgbench_history ADD COLUMN hid bigserial PRIMARY KEY",
                "VACUUM ANALYZE");
    }

    /** Creates the pgbench tables on {@code replica} and copies the primary's rows. */
    void loadReplica(Db source, Db replica, String schema, boolean dolt) throws Exception {
        Db target = replica;
        replicas.put(schema, target);
        String s = schema + ".";
        target.exec(
                "CREATE SCHEMA " + schema,
                "CREATE TABLE "
                        + s
                        + "pgbench_branches (bid int4 PRIMARY KEY, bbalance int4, filler char(88))",
                "CREATE TABLE "
                        + s
                        + "pgbench_tellers (tid int4 PRIMARY KEY, bid int4, tbalance int4, filler"
                        + " char(84))",
                "CREATE TABLE "
                        + s
                        + "pgbench_accounts (aid int4 PRIMARY KEY, bid int4, abalance int4, filler"
                        + " char(84))",
                "CREATE TABLE "
                        + s
                        + "pgbench_history (hid int8 PRIMARY KEY, tid int4, bid int4, aid int4,"
                        + " delta int4, mtime timestamp, filler char(22))");
        try (Connection from = source.connect();
                Connection to = target.connect()) {
            for (String t :
                    new String[] {"pgbench_branches", "pgbench_tellers", "pgbench_accounts"}) {
                ByteArrayOutputStream rows = new ByteArrayOutputStream();
                from.unwrap(PGConnection.class)
                        .getCopyAPI()
                        .copyOut("COPY " + s + t + " TO STDOUT", rows);
                to.unwrap(PGConnection.class)
                        .getCopyAPI()
                        .copyIn(
                                "COPY " + s + t + " FROM STDIN",
                                new ByteArrayInputStream(rows.toByteArray()));
            }
            if (dolt) {
                try (Statement st = to.createStatement()) {
                    st.execute(
                            "SELECT dolt_commit('-A', '-m', 'bench: initial rows of "
                                    + schema
                                    + "')");
                } catch (SQLException e) {
                    // With dolt_transaction_commit on (the built-in contender's server) every SQL
                    // transaction is a Dolt commit already.
                    if (!String.valueOf(e.getMessage()).contains("nothing to commit")) {
                        throw e;
                    }
                }
            }
        }
        for (String q : checksums(schema)) {
            String p = source.value(q);
            String r = target.value(q);
            if (!p.equals(r)) {
                throw new IllegalStateException(
                        "initial load differs: " + q + ": " + p + " vs " + r);
            }
        }
    }

    static List<String> checksums(String schema) {
        String s = schema + ".";
        return List.of(
                "SELECT count(*) || ':' || coalesce(sum(abalance), 0) FROM "
                        + s
                        + "pgbench_accounts",
                "SELECT count(*) || ':' || coalesce(sum(tbalance), 0) FROM "
                        + s
                        + "pgbench_tellers",
                "SELECT count(*) || ':' || coalesce(sum(bbalance), 0) FROM "
                        + s
                        + "pgbench_branches",
                "SELECT count(*) || ':' || coalesce(sum(delta), 0) || ':' || coalesce(max(hid), 0)"
                        + " FROM "
                        + s
                        + "pgbench_history");
    }

    static List<String> qualified(String schema) {
        List<String> q = new ArrayList<>();
        for (String t : TABLES) {
            q.add(schema + "." + t);
        }
        return q;
    }

    private long marker(String schema) throws SQLException {
        return Long.parseLong(
                primary.value(
                        "INSERT INTO "
                                + schema
                                + ".pgbench_history (tid, bid, aid, delta, mtime) VALUES (0, 0, 0,"
                                + " 0, now() AT TIME ZONE 'UTC') RETURNING hid"));
    }

    private long waitVisible(String schema, long hid, Duration timeout) throws Exception {
        Db replica = replicaOf(schema);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Connection c = replica.connect()) {
            PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT count(*) FROM "
                                    + schema
                                    + ".pgbench_history WHERE hid = CAST(? AS int8)");
            ps.setString(1, Long.toString(hid));
            while (System.nanoTime() < deadline) {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) == 1) {
                        return System.nanoTime();
                    }
                }
                checkSlotActive(schema);
                Thread.sleep(20);
            }
        }
        throw new IllegalStateException(
                "marker row " + hid + " of " + schema + " not on the replica after " + timeout);
    }

    /**
     * Waits until history row {@code marker} is on the replica, polling the highest key there.
     *
     * @return the nano times when 30% and 95% of the rows {@code first..marker} were there, and
     *     when the marker was; then the rows seen at the first two (a replica that commits many
     *     transactions at once, as per checkpoint, shows more than 30% and 95% when first seen past
     *     them: the rate counts the rows it really saw in between)
     */
    private long[] progress(String schema, long first, long marker) throws Exception {
        long span = marker - first;
        long p10 = first + span * 3 / 10;
        long p90 = first + span * 95 / 100;
        long[] at = {-1, -1, -1, 0, 0};
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        try (Connection c = replicaOf(schema).connect()) {
            c.setAutoCommit(true);
            PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT coalesce(max(hid), 0) FROM " + schema + ".pgbench_history");
            while (System.nanoTime() < deadline) {
                long max;
                long asked = System.nanoTime();
                try (ResultSet rs = ps.executeQuery()) {
                    // Doltgres 1.3 at times answers an aggregate with no row while commits land.
                    max = rs.next() ? rs.getLong(1) : 0;
                }
                long now = System.nanoTime();
                if (at[0] < 0 && max >= p10) {
                    at[0] = now;
                    at[3] = max;
                }
                if (at[1] < 0 && max >= p90) {
                    at[1] = now;
                    at[4] = max;
                }
                if (max >= marker) {
                    at[2] = now;
                    return at;
                }
                checkSlotActive(schema);
                pauseAfterPoll(now - asked, 5);
            }
        }
        throw new IllegalStateException(
                "marker row " + marker + " of " + schema + " not on the replica after 5 minutes");
    }

    /**
     * Sleeps between two polls of a replica under test: at least {@code minMillis}, and 20 times
     * what the last poll took (up to 50 ms), so that polling takes at most about 5% of the
     * replica's time. A poll costs Doltgres about a millisecond, and the apply it times is one
     * session against that server: polling it every 5 ms made every Doltgres contender about 8%
     * slower.
     */
    static void pauseAfterPoll(long pollNanos, long minMillis) throws InterruptedException {
        Thread.sleep(
                Math.min(
                        MAX_POLL_PAUSE_MS,
                        Math.max(minMillis, TimeUnit.NANOSECONDS.toMillis(pollNanos * 20))));
    }

    /** A poll held up by a long commit must not blur when the commit became visible. */
    private static final long MAX_POLL_PAUSE_MS = 50;

    private long slotCheckedAt;
    private long slotInactiveSince;

    /** Fails when the contender's slot has had no consumer for 15 s: replication stopped. */
    private void checkSlotActive(String schema) throws SQLException {
        long now = System.nanoTime();
        if (now - slotCheckedAt < TimeUnit.SECONDS.toNanos(1)) {
            return;
        }
        slotCheckedAt = now;
        String slot = "s_" + schema.substring(2);
        boolean active =
                "t"
                        .equals(
                                primary.value(
                                        "SELECT active FROM pg_replication_slots WHERE slot_name ="
                                                + " '"
                                                + slot
                                                + "'"));
        if (active) {
            slotInactiveSince = 0;
        } else if (slotInactiveSince == 0) {
            slotInactiveSince = now;
        } else if (now - slotInactiveSince > TimeUnit.SECONDS.toNanos(15)) {
            slotInactiveSince = 0;
            throw new IllegalStateException(
                    "replication stopped: slot " + slot + " has had no consumer for 15 s");
        }
    }

    private String bulkScript() {
        return "\\set a random(1, "
                + (ACCOUNTS - settings.bulkRows())
                + ")\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN :a AND"
                + " :a + "
                + (settings.bulkRows() - 1)
                + ";\n";
    }

    /** Warm-up load (txn/s): one every contender into that replica holds. */
    /**
     * The backlog of a contender: a fixed number of transactions, larger for those that apply well
     * over 1,000 a second (into PostgreSQL, or one Dolt commit per checkpoint), so that theirs
     * drains for long enough to time a sustained rate rather than a start.
     */
    int backlogOf(boolean fast) {
        return fast ? settings.fastBacklog() : settings.backlog();
    }

    static int warmupRate(boolean dolt) {
        return dolt ? 100 : 1000;
    }

    private void pgbench(String schema, String... args) throws Exception {
        Process p = pgbenchProcess(schema, args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(
                    "pgbench " + String.join(" ", args) + " failed:\n" + out);
        }
    }

    void pgbenchScript(String schema, String script, String... args) throws Exception {
        Path file = settings.work().resolve("bulk.sql");
        Files.writeString(file, script);
        List<String> all = new ArrayList<>(List.of(args));
        all.add("-f");
        all.add(file.toString());
        pgbench(schema, all.toArray(new String[0]));
    }

    private Process pgbenchProcess(String schema, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add("pgbench");
        cmd.addAll(List.of(args));
        cmd.addAll(
                List.of(
                        "-h",
                        primary.host(),
                        "-p",
                        "" + primary.port(),
                        "-U",
                        primary.user(),
                        "bench"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", primary.password());
        pb.environment().put("PGTZ", "UTC");
        pb.environment().put("PGOPTIONS", "-c search_path=" + schema);
        return pb.start();
    }

    void recreateDatabase(Db db) throws SQLException {
        Db admin = db.withDatabase("postgres");
        if (db.port() == pgReplica.port()) {
            admin.exec("DROP DATABASE IF EXISTS " + db.database() + " WITH (FORCE)");
        } else {
            admin.exec("DROP DATABASE IF EXISTS " + db.database());
        }
        admin.exec("CREATE DATABASE " + db.database());
    }

    long doltCommits(Db replica) throws SQLException {
        // Not pgdolt's one-off setup commit (dolt_ignore), made when the job first starts.
        return Long.parseLong(
                replica.value(
                        "SELECT count(*) FROM dolt_log WHERE message NOT LIKE '"
                                + io.pgdolt.replica.DoltgresDialect.SETUP_COMMIT_PREFIX
                                + "%'"));
    }

    void dropSlot(String slot) {
        try {
            for (int i = 0; i < 50; i++) {
                if (!"t"
                        .equals(
                                primary.value(
                                        "SELECT coalesce(bool_or(active), false) FROM"
                                                + " pg_replication_slots WHERE slot_name = '"
                                                + slot
                                                + "'"))) {
                    break;
                }
                Thread.sleep(200);
            }
            primary.exec(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE"
                            + " slot_name = '"
                            + slot
                            + "'");
        } catch (Exception e) {
            say("could not drop slot %s: %s", slot, e.getMessage());
        }
    }

    /** The pid of the benchmark's primary server (its postmaster). */
    static long primaryPid() throws IOException {
        return Long.parseLong(
                Files.readAllLines(
                                Path.of(
                                        env("PGDOLT_SERVERS_DIR"),
                                        "primary",
                                        "data",
                                        "postmaster.pid"))
                        .get(0)
                        .trim());
    }

    private long doltgresPid() throws IOException {
        return Long.parseLong(
                Files.readString(Path.of(env("PGDOLT_SERVERS_DIR"), "doltgres", "doltgres.pid"))
                        .trim());
    }

    long pgReplicaPid() throws IOException {
        return Long.parseLong(
                Files.readAllLines(
                                Path.of(
                                        env("PGDOLT_SERVERS_DIR"),
                                        "pgreplica",
                                        "data",
                                        "postmaster.pid"))
                        .get(0)
                        .trim());
    }

    /**
     * Starts pgdolt as a user would ({@code java -jar}, embedded Flink) with {@code
     * dir}/pgdolt.yaml and {@code dir}/conf as its Flink configuration; output to {@code
     * dir}/job.log.
     */
    Process launchJob(Path dir) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("java", "-Xmx1g"));
        // For profiling the job, e.g. -XX:StartFlightRecording=filename=job.jfr
        String extra = System.getenv("PGDOLT_BENCH_JOB_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
            cmd.addAll(List.of(extra.trim().split("\\s+")));
        }
        cmd.addAll(
                List.of(
                        "-jar",
                        settings.jar().toString(),
                        "run",
                        "--config",
                        dir.resolve("pgdolt.yaml").toString()));
        ProcessBuilder pb =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("job.log").toFile());
        pb.environment().put("FLINK_CONF_DIR", dir.resolve("conf").toString());
        return pb.start();
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    // ---------------------------------------------------------------- report

    private void writeReport(Duration took) throws IOException {
        Result builtin = find("builtin-doltgres");
        Result nativePg = find("native-postgres");
        Result rawDolt = find("raw-doltgres");
        Result rawPg = find("raw-postgres");
        Result rawDoltProgress = find("raw-doltgres-progress");
        Result rawPgProgress = find("raw-postgres-progress");
        StringBuilder md = new StringBuilder();
        md.append("# pgdolt benchmarks\n\n")
                .append("Written by `bench/run.sh` on ")
                .append(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))
                .append(" (the whole run took ")
                .append(took.toMinutes())
                .append(" min ")
                .append(took.toSecondsPart())
                .append(" s). Every figure below comes from that one run; rerun the command to")
                .append(" regenerate this file and the chart.\n\n")
                .append("## Machine\n\n")
                .append(machine())
                .append("\n## Workload\n\n")
                .append(
                        "Per contender, on a schema of its own on the same primary (pgbench scale"
                                + " 1:")
                .append(" 100,000 accounts, 10 tellers, 1 branch; `pgbench_history` given a")
                .append(
                        " `bigserial` key), replicated into a fresh replica database loaded with"
                                + " the")
                .append(" same rows:\n\n")
                .append("- **warm-up**: each contender starts and replicates pgbench's TPC-B-like")
                .append(" load for ")
                .append(settings.warmupSeconds())
                .append(" s first, at ")
                .append(warmupRate(true))
                .append(" txn/s into Doltgres and ")
                .append(String.format(Locale.ROOT, "%,d", warmupRate(false)))
                .append(" txn/s into PostgreSQL (a replicator in service is warm: JIT, caches; a")
                .append(" JVM's JIT compilers need tens of seconds of work, which a fixed count")
                .append(" of fast transactions does not give them).\n")
                .append("- **backlog**: the contender reaches the primary through a TCP proxy")
                .append(" that then holds its traffic while pgbench commits ")
                .append(settings.backlog())
                .append(" TPC-B-like transactions (")
                .append(settings.fastBacklog())
                .append(" for the contenders that apply well over 1,000 a second, into")
                .append(" PostgreSQL or one Dolt commit per checkpoint, whose drain would")
                .append(" otherwise last about a second; the raw loops send as many; pgbench's")
                .append(" built-in script: 3 updates and 1")
                .append(" insert, 2 clients) and ")
                .append(settings.bulk())
                .append(" large transactions of ")
                .append(settings.bulkRows())
                .append(" updated rows each; then it lets go. The TPC-B-like rate is timed")
                .append(" from 30% to 95% of that backlog being on the replica (its highest")
                .append(" history key, polled every 5 ms or, where a poll costs the replica more")
                .append(" than 0.25 ms, every 20 poll times up to 50 ms, so that timing takes no")
                .append(" more than about 5% of the replica's time; the rate counts the rows")
                .append(" seen at those two polls, since a commit per checkpoint shows many at")
                .append(" once), the bulk rate")
                .append(" from the first phase's marker row to the second's (when the second")
                .append(" shows up less than 50 ms after the first, as when one commit per")
                .append(
                        " checkpoint holds both, the phases cannot be timed apart: \"≥\" then gives"
                                + " the bulk")
                .append(" rows over the whole held backlog's time).\n")
                .append("- **lag**: pgbench offers ")
                .append(settings.lagRate())
                .append(" TPC-B-like transactions/s for ")
                .append(settings.lagSeconds())
                .append(" s; every transaction's history row is polled on the replica every 25 ms,")
                .append(" and its lag is the time it was first seen there minus its commit")
                .append(" timestamp on the primary (so a figure may be up to 25 ms late).\n")
                .append("- **held load**: offered loads of 50%, 75% and 90% of the contender's")
                .append(" backlog rate for ")
                .append(settings.stepSeconds())
                .append(" s each; the highest whose lag did not grow (median of the last third")
                .append(" above the first third's by less than max(500 ms, the first third's")
                .append(" median)); \"≥\" where pgbench could not offer")
                .append(" more and the contender kept up with all of it.\n")
                .append("- **CPU**: CPU seconds per 1,000 backlog transactions of the replicator")
                .append(" process tree and the replica server together (for the built-in")
                .append(
                        " replicator and native replication the replicator lives inside the"
                                + " replica")
                .append(
                        " server); **memory**: the replicator process tree's peak RSS, and"
                                + " pgdolt's")
                .append(" TaskManager heap peak from its own metrics.\n")
                .append("- **check**: after a final marker, every table's row count and sums equal")
                .append(" the primary's, and the Dolt commits added are counted against the source")
                .append(" transactions.\n")
                .append("- **raw capacity**: the same statements and commits sent by a plain JDBC")
                .append(" loop (one connection, prepared statements with their values bound as")
                .append(" pgdolt binds them: uncast into Doltgres for built-in scalar types,")
                .append(" cast from text into PostgreSQL; a TPC-B-like transaction's")
                .append(" statements, Dolt commit and COMMIT in one round trip; a bulk")
                .append(" transaction's updates as one batch): the best one client gets from the")
                .append(" replica.\n")
                .append("- **raw + progress row** (`raw-*-progress`): the same loop, each")
                .append(" transaction also moving a progress row by compare-and-set, the UPDATE")
                .append(
                        " pgdolt sends for exactly-once (on Doltgres the table is in"
                                + " `dolt_ignore`,")
                .append(" as pgdolt's is): what that bookkeeping costs the replica. pgdolt")
                .append(" sends it in every transaction into PostgreSQL; into Doltgres, with one")
                .append(" Dolt commit per transaction, only in the last of each checkpoint's run")
                .append(" (each Dolt commit records its LSN, and a lock keeps a second committer")
                .append(" out), so there the loop without it is pgdolt's match.\n\n")
                .append("## Results\n\n")
                .append("| contender | TPC-B txn/s | row changes/s | bulk row changes/s |")
                .append(" lag p50 ms | lag p99 ms | held txn/s | CPU s / 1k txn | replicator")
                .append(" CPU s / 1k txn | peak RSS MiB | heap peak MiB | check |\n")
                .append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Result r : results) {
            md.append("| **")
                    .append(r.name)
                    .append("**<br>")
                    .append(r.description)
                    .append(" | ")
                    .append(fmt(r.txnRate, 1))
                    .append(" | ")
                    .append(fmt(r.rowRate, 0))
                    .append(" | ")
                    .append(r.bulkAtLeast ? "≥ " : "")
                    .append(fmt(r.bulkRowRate, 0))
                    .append(" | ")
                    .append(fmt(r.lagP50, 0))
                    .append(" | ")
                    .append(fmt(r.lagP99, 0))
                    .append(" | ")
                    .append(r.heldByLoadLimit ? "≥ " : "")
                    .append(fmt(r.heldRate, 0))
                    .append(" | ")
                    .append(fmt(r.cpuPer1000, 2))
                    .append(" | ")
                    .append(fmt(r.replicatorCpuPer1000, 2))
                    .append(" | ")
                    .append(fmt(r.peakRssMiB, 0))
                    .append(" | ")
                    .append(fmt(r.peakHeapMiB, 0))
                    .append(" | ")
                    .append(r.failure != null ? "**FAILED**: " + r.failure : r.check)
                    .append(" |\n");
        }
        md.append("\n## Ratios\n\n")
                .append(
                        "| contender | txn/s vs built-in | row changes/s vs built-in | bulk rows/s"
                                + " vs")
                .append(" built-in | txn/s vs native | txn/s vs raw capacity of its replica |")
                .append(" txn/s vs raw + progress row |\n")
                .append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Result r : results) {
            Result raw = r.name.contains("postgres") ? rawPg : rawDolt;
            Result rawProgress = r.name.contains("postgres") ? rawPgProgress : rawDoltProgress;
            md.append("| ")
                    .append(r.name)
                    .append(" | ")
                    .append(ratio(r.txnRate, builtin == null ? Double.NaN : builtin.txnRate))
                    .append(" | ")
                    .append(ratio(r.rowRate, builtin == null ? Double.NaN : builtin.rowRate))
                    .append(" | ")
                    .append(r.bulkAtLeast ? "≥ " : "")
                    .append(
                            ratio(
                                    r.bulkRowRate,
                                    builtin == null ? Double.NaN : builtin.bulkRowRate))
                    .append(" | ")
                    .append(ratio(r.txnRate, nativePg == null ? Double.NaN : nativePg.txnRate))
                    .append(" | ")
                    .append(ratio(r.txnRate, raw == null ? Double.NaN : raw.txnRate))
                    .append(" | ")
                    .append(
                            ratio(
                                    r.txnRate,
                                    rawProgress == null ? Double.NaN : rawProgress.txnRate))
                    .append(" |\n");
        }
        if (!groupRows.isEmpty()) {
            md.append("\n## Replication groups\n\n")
                    .append("Apply rate against the number of replication groups, one Dolt commit")
                    .append(" (or replica transaction) per source transaction. Four independent")
                    .append(" pgbench table sets (schemas `g_0`..`g_3`, scale 1 each); every")
                    .append(" transaction is TPC-B-like on one set chosen at random, so it belongs")
                    .append(" to one group; with G groups, group i replicates the sets j with j")
                    .append(" mod G = i. Per run: a fresh replica loaded with the primary's rows,")
                    .append(" pgdolt started with G groups, a warm-up, then a held backlog")
                    .append(" (2 pgbench clients) timed from letting go to all of it on the")
                    .append(" replica, and from 30% to 95% of it. While it drains: how busy the")
                    .append(" whole machine was, and the CPU cores used by the job, the replica")
                    .append(" server and the primary server (whose walsenders decode the WAL once")
                    .append(" per slot).\n\n")
                    .append(
                            "| replica | groups | backlog | txn/s (whole backlog) | txn/s (30–95%)"
                                    + " |")
                    .append(" vs 1 group | machine busy | cores: job / replica / primary |")
                    .append(" check |\n")
                    .append("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
            for (GroupScaling.Row r : groupRows) {
                GroupScaling.Row one =
                        groupRows.stream()
                                .filter(o -> o.kind.equals(r.kind) && o.groups == 1)
                                .findFirst()
                                .orElse(null);
                md.append("| ")
                        .append(
                                r.kind.equals("doltgres")
                                        ? r.separate ? "Doltgres, a database per group" : "Doltgres"
                                        : "PostgreSQL")
                        .append(" | ")
                        .append(r.groups)
                        .append(" | ")
                        .append(r.backlog)
                        .append(" | ")
                        .append(fmt(r.txnRate, 1))
                        .append(" | ")
                        .append(fmt(r.windowRate, 1))
                        .append(" | ")
                        .append(ratio(r.txnRate, one == null ? Double.NaN : one.txnRate))
                        .append(" | ")
                        .append(fmt(r.machineBusy * 100, 0))
                        .append("% | ")
                        .append(fmt(r.jobCores, 2))
                        .append(" / ")
                        .append(fmt(r.replicaCores, 2))
                        .append(" / ")
                        .append(fmt(r.primaryCores, 2))
                        .append(" | ")
                        .append(r.failure != null ? "**FAILED**: " + r.failure : r.check)
                        .append(" |\n");
            }
        }
        md.append("\n## Lag over time\n\n")
                .append("![lag at ")
                .append(settings.lagRate())
                .append(" txn/s](")
                .append(relative(settings.out(), settings.chart()))
                .append(")\n\n## Log of the run\n\n```\n")
                .append(log)
                .append("```\n");
        Files.createDirectories(settings.out().toAbsolutePath().getParent());
        Files.writeString(settings.out(), md.toString());
    }

    private static String relative(Path from, Path to) {
        Path base = from.toAbsolutePath().getParent();
        return base.relativize(to.toAbsolutePath()).toString();
    }

    private Result find(String name) {
        for (Result r : results) {
            if (r.name.equals(name) && r.failure == null) {
                return r;
            }
        }
        return null;
    }

    private static String ratio(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b) || b == 0) {
            return "—";
        }
        return String.format(Locale.ROOT, "%.2f×", a / b);
    }

    private static String fmt(double v, int decimals) {
        if (Double.isNaN(v)) {
            return "—";
        }
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }

    private String machine() {
        StringBuilder sb = new StringBuilder();
        try {
            String model =
                    Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                            .filter(l -> l.startsWith("model name"))
                            .findFirst()
                            .map(l -> l.substring(l.indexOf(':') + 1).trim())
                            .orElse("unknown");
            String mem =
                    Files.readAllLines(Path.of("/proc/meminfo")).stream()
                            .filter(l -> l.startsWith("MemTotal"))
                            .findFirst()
                            .map(
                                    l ->
                                            Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024 / 1024
                                                    + " GiB")
                            .orElse("unknown");
            sb.append("- CPU: ")
                    .append(Runtime.getRuntime().availableProcessors())
                    .append(" cores, ")
                    .append(model)
                    .append("; memory ")
                    .append(mem)
                    .append("\n");
        } catch (IOException e) {
            sb.append("- CPU/memory: unknown\n");
        }
        sb.append("- OS: ")
                .append(System.getProperty("os.name"))
                .append(' ')
                .append(System.getProperty("os.version"))
                .append("; Java ")
                .append(System.getProperty("java.version"))
                .append("\n");
        try {
            sb.append("- primary and PostgreSQL replica: ")
                    .append(primary.value("SHOW server_version"))
                    .append(" (default durability settings); Doltgres ")
                    .append(doltgres.value("SELECT dolt_version()"))
                    .append("\n");
        } catch (SQLException e) {
            sb.append("- server versions: unknown\n");
        }
        sb.append("- all servers, the replicators and the load generator share this machine;")
                .append(" pgdolt runs embedded (`java -Xmx1g -jar`, checkpoints every 500 ms)\n");
        return sb.toString();
    }

    void say(String format, Object... args) {
        String line =
                String.format(Locale.ROOT, "%tT ", System.currentTimeMillis())
                        + String.format(Locale.ROOT, format, args);
        System.err.println("bench: " + line);
        log.append(line).append('\n');
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalStateException(
                    name + " is not set: run the benchmark through bench/run.sh");
        }
        return v;
    }
}
