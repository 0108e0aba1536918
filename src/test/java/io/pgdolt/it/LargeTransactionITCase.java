package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * One source transaction of 5,000,000 row changes (4.9 M inserts, then 100 k updates of rows it
 * inserted) replicates into Doltgres as one replica transaction and one Dolt commit, with the job
 * run as a user runs it ({@code java -Xmx1g -jar}, embedded Flink, RocksDB keyed state, incremental
 * checkpoints): the whole JVM, TaskManager included, has 1 GiB of heap for a transaction whose
 * values alone are several times that in Java objects. While it flows the test samples the job's
 * own metrics (checkpoint sizes, heap) and reports them; checkpoints must stay far below the
 * transaction's size. {@code -Dpgdolt.large.rows=N} runs a smaller transaction.
 */
class LargeTransactionITCase {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void fiveMillionRowTransactionIsOneCommitWithBoundedMemoryAndCheckpoints() throws Exception {
        long total = Long.getLong("pgdolt.large.rows", 5_000_000L);
        long updates = total / 50;
        long inserts = total - updates;
        String ddl =
                "CREATE TABLE public.big (id bigint PRIMARY KEY, grp integer NOT NULL, note text)";
        Path dir = Files.createTempDirectory("pgdolt-large");
        Process job = null;
        try (ReplicationFixture f =
                ReplicationFixture.create("doltgres", "large", List.of("public.big"), ddl)
                        .withPipelineYaml("checkpoint_dir: file://" + dir.resolve("checkpoints"))) {
            int metricsPort = freePort();
            Path conf = dir.resolve("conf");
            Files.createDirectories(conf);
            Files.writeString(
                    conf.resolve("config.yaml"),
                    String.join(
                            "\n",
                            "state.backend.type: rocksdb",
                            "execution.checkpointing.incremental: true",
                            "metrics.reporter.prom.factory.class:"
                                + " org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                            "metrics.reporter.prom.host: 127.0.0.1",
                            "metrics.reporter.prom.port: " + metricsPort,
                            ""));
            Path config = f.writeConfig(dir);
            Path log = dir.resolve("job.log");
            ProcessBuilder pb =
                    new ProcessBuilder(
                                    "java",
                                    "-Xmx1g",
                                    "-jar",
                                    jar(),
                                    "run",
                                    "--config",
                                    config.toString())
                            .redirectErrorStream(true)
                            .redirectOutput(log.toFile());
            pb.environment().put("FLINK_CONF_DIR", conf.toString());
            job = pb.start();

            // Streaming: a first small transaction arrives.
            long first;
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("INSERT INTO public.big VALUES (0, 0, 'first')");
                }
                first = ReplicationFixture.currentXid(c);
                c.commit();
            }
            awaitApplied(f, job, log, first, Duration.ofMinutes(3));
            int commitsBefore = f.doltCommits().size();

            long xid;
            long started = System.nanoTime();
            try (Connection c = f.primary.connect()) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute(
                            "INSERT INTO public.big SELECT g, (g % 1000)::int, 'row ' || g FROM"
                                    + " generate_series(1, "
                                    + inserts
                                    + ") g");
                    st.execute(
                            "UPDATE public.big SET note = note || '!' WHERE id BETWEEN 1 AND "
                                    + updates);
                }
                xid = ReplicationFixture.currentXid(c);
                c.commit();
            }
            log(
                    "committed xid %d (%d row changes) on the primary in %s",
                    xid, total, since(started));

            // While it flows: the job's own metrics.
            long maxCheckpoint = 0;
            long maxFullCheckpoint = 0;
            long maxCheckpointMillis = 0;
            long maxHeap = 0;
            long checkpointsBefore = -1;
            long checkpointsDuring = 0;
            long nextReport = 0;
            while (!applied(f, xid)) {
                assertRunning(job, log);
                assertThat(System.nanoTime() - started)
                        .as("replicated within 30 minutes")
                        .isLessThan(Duration.ofMinutes(30).toNanos());
                String metrics = scrape(metricsPort);
                maxCheckpoint =
                        Math.max(
                                maxCheckpoint,
                                metric(metrics, "flink_jobmanager_job_lastCheckpointSize"));
                maxFullCheckpoint =
                        Math.max(
                                maxFullCheckpoint,
                                metric(metrics, "flink_jobmanager_job_lastCheckpointFullSize"));
                maxCheckpointMillis =
                        Math.max(
                                maxCheckpointMillis,
                                metric(metrics, "flink_jobmanager_job_lastCheckpointDuration"));
                maxHeap =
                        Math.max(
                                maxHeap,
                                metric(metrics, "flink_taskmanager_Status_JVM_Memory_Heap_Used"));
                long completed =
                        metric(metrics, "flink_jobmanager_job_numberOfCompletedCheckpoints");
                if (checkpointsBefore < 0) {
                    checkpointsBefore = completed;
                }
                checkpointsDuring = completed - checkpointsBefore;
                if (System.nanoTime() > nextReport) {
                    log(
                            "%s in: %d checkpoints completed, largest %s (full %s), heap peak %s,"
                                    + " staged chunks %s",
                            since(started),
                            checkpointsDuring,
                            mib(maxCheckpoint),
                            mib(maxFullCheckpoint),
                            mib(maxHeap),
                            f.replica.value("SELECT count(*) FROM public.pgdolt_staging"));
                    nextReport = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                }
                Thread.sleep(2000);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            String report =
                    String.format(
                            Locale.ROOT,
                            "large transaction: %d row changes (xid %d) replicated in %s (%.0f"
                                    + " changes/s) with -Xmx1g; %d checkpoints completed while it"
                                    + " flowed, largest %s (full size %s), longest %d ms; heap"
                                    + " peak %s",
                            total,
                            xid,
                            took,
                            total / (took.toMillis() / 1000.0),
                            checkpointsDuring,
                            mib(maxCheckpoint),
                            mib(maxFullCheckpoint),
                            maxCheckpointMillis,
                            mib(maxHeap));
            log("%s", report);
            Files.writeString(
                    Path.of("target", "large-transaction-report.txt"),
                    report + "\n",
                    StandardCharsets.UTF_8);

            // One Dolt commit, for exactly that transaction.
            List<ReplicationFixture.DoltCommit> commits = f.doltCommits();
            assertThat(commits).hasSize(commitsBefore + 1);
            ReplicationFixture.DoltCommit commit = commits.get(commits.size() - 1);
            assertThat(commit.xid()).isEqualTo(xid);
            assertThat(commit.message())
                    .contains("changes: " + total)
                    .contains("public.big: " + total);
            // Equal: the aggregates over every row, and every row of a slice compared in full.
            String aggregates =
                    "SELECT count(*), sum(id), sum(grp), sum(length(note)),"
                            + " sum(CASE WHEN note LIKE '%!' THEN 1 ELSE 0 END) FROM public.big";
            List<String> primarySide = f.primary.rows(aggregates).get(0);
            assertThat(primarySide.get(0)).isEqualTo(String.valueOf(inserts + 1));
            assertThat(primarySide.get(4)).isEqualTo(String.valueOf(updates));
            assertThat(f.replica.rows(aggregates).get(0)).isEqualTo(primarySide);
            String slice =
                    "SELECT id, grp, note FROM public.big WHERE id <= "
                            + (updates + 1000)
                            + " OR id > "
                            + (inserts - 1000)
                            + " ORDER BY id";
            assertThat(f.replica.rows(slice)).isEqualTo(f.primary.rows(slice));
            // The staged chunks went with the transaction, and never into a Dolt commit.
            assertThat(f.replica.value("SELECT count(*) FROM public.pgdolt_staging"))
                    .isEqualTo("0");
            assertThat(
                            f.replica.value(
                                    "SELECT count(*) FROM dolt_diff_summary('HEAD~1', 'HEAD')"
                                            + " WHERE to_table_name LIKE '%pgdolt_staging%'"))
                    .isEqualTo("0");
            // One setup commit, holding nothing but the dolt_ignore row, made before the rest.
            assertThat(
                            f.replica.rows(
                                    "SELECT message FROM dolt_log WHERE message LIKE 'pgdolt"
                                            + " setup:%'"))
                    .containsExactly(
                            List.of(
                                    "pgdolt setup: keep public.pgdolt_staging out of Dolt"
                                            + " commits"));
            // Bounded: the checkpoints never held the transaction.
            assertThat(checkpointsDuring)
                    .as("checkpoints while the transaction flowed")
                    .isPositive();
            assertThat(maxFullCheckpoint).as("largest checkpoint").isLessThan(64L << 20);
            assertRunning(job, log);
        } finally {
            if (job != null) {
                job.destroy();
                job.waitFor();
            }
        }
    }

    private static void awaitApplied(
            ReplicationFixture f, Process job, Path log, long xid, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!applied(f, xid)) {
            assertRunning(job, log);
            assertThat(System.nanoTime()).as("xid %d applied in time", xid).isLessThan(deadline);
            Thread.sleep(500);
        }
    }

    private static void assertRunning(Process job, Path log) {
        if (!job.isAlive()) {
            throw new AssertionError(
                    "the job exited with status "
                            + job.exitValue()
                            + "; its log ends:\n"
                            + tail(log));
        }
    }

    private static boolean applied(ReplicationFixture f, long xid) throws Exception {
        try (Connection c = f.replica.connect();
                Statement st = c.createStatement();
                ResultSet rs =
                        st.executeQuery(
                                "SELECT xid FROM public.pgdolt_progress WHERE pipeline_id = '"
                                        + f.name
                                        + "'")) {
            return rs.next() && rs.getLong(1) == xid;
        } catch (java.sql.SQLException e) {
            return false; // The replica is busy with the big commit or not set up yet.
        }
    }

    private static String scrape(int port) {
        try {
            return HTTP.send(
                            HttpRequest.newBuilder(
                                            URI.create("http://127.0.0.1:" + port + "/metrics"))
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** The largest value of {@code name} among its series, 0 if absent. */
    private static long metric(String metrics, String name) {
        long max = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                if (!Double.isNaN(v)) {
                    max = Math.max(max, (long) v);
                }
            }
        }
        return max;
    }

    private static String jar() {
        String jar = System.getProperty("pgdolt.jar");
        assertThat(jar).as("system property pgdolt.jar (set by the build)").isNotBlank();
        assertThat(Path.of(jar)).as("the job jar (mvn package builds it)").exists();
        return jar;
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket s =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(
                    "\n",
                    new ArrayList<>(lines.subList(Math.max(0, lines.size() - 40), lines.size())));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    private static String since(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos).withNanos(0).toString();
    }

    private static void log(String format, Object... args) {
        System.out.println("LargeTransactionITCase: " + String.format(Locale.ROOT, format, args));
    }
}
