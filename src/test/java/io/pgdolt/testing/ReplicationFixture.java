package io.pgdolt.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.config.ConfigLoader;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.job.PipelineBuilder;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.awaitility.Awaitility;

/**
 * A fresh primary database and replica database for one test: same tables on both, a publication
 * and a slot, the job's YAML config, and helpers to run the job and compare the two sides.
 */
public final class ReplicationFixture implements AutoCloseable {
    public final String kind;
    public final String name;
    public final Db primary;
    public final Db replica;
    public final List<String> tables;
    private final String extraYaml;
    private String replicaYaml = "";
    private String primaryUser;
    private String primaryPassword;
    private String primaryYaml = "";
    private String replicaUser;
    private String replicaPassword;
    private String startupYaml = "startup:\n  mode: stream-only";
    private String pipelineYaml = "";
    private String groupsYaml = "";
    private int primaryPort;
    private int replicaPort;
    private JobClient job;

    private ReplicationFixture(
            String kind,
            String name,
            Db primary,
            Db replica,
            List<String> tables,
            String extraYaml) {
        this.kind = kind;
        this.name = name;
        this.primary = primary;
        this.replica = replica;
        this.tables = tables;
        this.extraYaml = extraYaml;
    }

    /**
     * Creates databases {@code <prefix>_<random>} on the primary and the replica, runs {@code ddl}
     * on both, and publishes {@code tables} through a new publication and slot.
     */
    public static ReplicationFixture create(
            String kind, String prefix, List<String> tables, String... ddl) throws SQLException {
        return createWithYaml(kind, prefix, tables, "", ddl);
    }

    /**
     * Like {@link #create}, but {@code ddl} runs on the primary only: the replica database starts
     * empty (for {@code replica.create_tables}, or types the replica lacks).
     */
    public static ReplicationFixture createOnPrimaryOnly(
            String kind, String prefix, List<String> tables, String... ddl) throws SQLException {
        return createOnPrimaryOnly(kind, TestServers.replica(kind), prefix, tables, ddl);
    }

    /**
     * Like {@link #createOnPrimaryOnly(String, String, List, String...)}, on {@code replicaServer}.
     */
    public static ReplicationFixture createOnPrimaryOnly(
            String kind, Db replicaServer, String prefix, List<String> tables, String... ddl)
            throws SQLException {
        ReplicationFixture f = createWithYaml(kind, replicaServer, prefix, List.of(), "");
        f.primary.exec(ddl);
        f.primary.exec(
                "CREATE PUBLICATION " + f.name + " FOR TABLE " + String.join(", ", tables),
                "SELECT pg_create_logical_replication_slot('" + f.name + "', 'pgoutput')");
        return new ReplicationFixture(kind, f.name, f.primary, f.replica, tables, "");
    }

    /** Like {@link #create}, with extra YAML lines appended to the job's configuration. */
    public static ReplicationFixture createWithYaml(
            String kind, String prefix, List<String> tables, String extraYaml, String... ddl)
            throws SQLException {
        return createWithYaml(kind, TestServers.replica(kind), prefix, tables, extraYaml, ddl);
    }

    private static ReplicationFixture createWithYaml(
            String kind,
            Db replicaServer,
            String prefix,
            List<String> tables,
            String extraYaml,
            String... ddl)
            throws SQLException {
        String name =
                (prefix + "_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36))
                        .toLowerCase(Locale.ROOT);
        Db primaryServer = TestServers.primary();
        primaryServer.exec("CREATE DATABASE " + name);
        replicaServer.exec("CREATE DATABASE " + name);
        Db primary = primaryServer.withDatabase(name);
        Db replica = replicaServer.withDatabase(name);
        primary.exec(ddl);
        replica.exec(ddl);
        if (!tables.isEmpty()) {
            primary.exec(
                    "CREATE PUBLICATION " + name + " FOR TABLE " + String.join(", ", tables),
                    "SELECT pg_create_logical_replication_slot('" + name + "', 'pgoutput')");
        }
        return new ReplicationFixture(kind, name, primary, replica, tables, extraYaml);
    }

    /**
     * The job logs in to the primary as {@code user}, with {@code lines} added (indented) to its
     * {@code postgres_replication} section.
     */
    public ReplicationFixture withPrimaryLogin(String user, String password, String... lines) {
        primaryUser = user;
        primaryPassword = password;
        StringBuilder sb = new StringBuilder();
        for (String line : lines) {
            sb.append("\n  ").append(line);
        }
        primaryYaml = sb.toString();
        return this;
    }

    /** The job logs in to the replica as {@code user}. */
    public ReplicationFixture withReplicaLogin(String user, String password) {
        replicaUser = user;
        replicaPassword = password;
        return this;
    }

    private String primaryPassword() {
        return primaryUser == null ? primary.password() : primaryPassword;
    }

    private String replicaPassword() {
        return replicaUser == null ? replica.password() : replicaPassword;
    }

    /** The job reaches the primary and the replica through these loopback ports (proxies). */
    public ReplicationFixture withEndpoints(int primaryPort, int replicaPort) {
        this.primaryPort = primaryPort;
        this.replicaPort = replicaPort;
        return this;
    }

    /** Adds lines (indented by two spaces) to the job configuration's {@code pipeline} section. */
    public ReplicationFixture withPipelineYaml(String... lines) {
        StringBuilder sb = new StringBuilder();
        for (String line : lines) {
            sb.append("\n  ").append(line);
        }
        pipelineYaml = sb.toString();
        return this;
    }

    /** Adds lines (indented by two spaces) to the job configuration's {@code replica} section. */
    public ReplicationFixture withReplicaYaml(String... lines) {
        StringBuilder sb = new StringBuilder();
        for (String line : lines) {
            sb.append("\n  ").append(line);
        }
        replicaYaml = sb.toString();
        return this;
    }

    /**
     * Replaces the job configuration's {@code startup} section (by default {@code mode:
     * stream-only}: the fixture creates the replica's tables itself) with these lines, indented.
     */
    public ReplicationFixture withStartupYaml(String... lines) {
        StringBuilder sb = new StringBuilder("startup:");
        for (String line : lines) {
            sb.append("\n  ").append(line);
        }
        startupYaml = sb.toString();
        return this;
    }

    /**
     * Replication groups: {@code lines} form the {@code groups} section (not indented), the
     * pipeline id stays this fixture's name, and {@code postgres_replication} names no slot.
     */
    public ReplicationFixture withGroups(String... lines) {
        groupsYaml = "groups:\n" + String.join("\n", lines);
        return this;
    }

    /** The job configuration, in the YAML form users write. */
    public String yaml() {
        return String.join(
                "\n",
                "postgres_replication:",
                "  postgres_server_address: " + primary.host(),
                "  postgres_port: " + (primaryPort == 0 ? primary.port() : primaryPort),
                "  postgres_user: " + (primaryUser == null ? primary.user() : primaryUser),
                "  postgres_password: ${TEST_PRIMARY_PASSWORD}",
                "  postgres_database: " + name,
                (groupsYaml.isEmpty() ? "  slot_name: " + name : "  # slots: see groups")
                        + primaryYaml,
                "behavior:",
                "  dolt_transaction_commit: " + "doltgres".equals(kind),
                "replica:",
                "  kind: " + kind,
                "  url: "
                        + (replicaPort == 0
                                ? replica.url()
                                : replica.url()
                                        .replace(
                                                ":" + replica.port() + "/",
                                                ":" + replicaPort + "/")),
                "  user: " + (replicaUser == null ? replica.user() : replicaUser),
                "  password: ${TEST_REPLICA_PASSWORD}",
                "  author: pgdolt test <pgdolt-test@example.com>" + replicaYaml,
                "pipeline:",
                "  checkpoint_interval: 500ms",
                "  slot_confirm_delay_checkpoints: 1" + pipelineYaml,
                groupsYaml.isEmpty() ? "" : "  id: " + name,
                startupYaml,
                groupsYaml,
                extraYaml);
    }

    public PipelineConfig config() {
        return ConfigLoader.parse(
                yaml(),
                Map.of(
                                "TEST_PRIMARY_PASSWORD", primaryPassword(),
                                "TEST_REPLICA_PASSWORD", replicaPassword())
                        ::get);
    }

    /**
     * Builds the job graph exactly as Main does, without running it: the start-up checks and the
     * start position (a snapshot, a refusal) happen here.
     */
    public void build() throws Exception {
        PipelineBuilder.build(
                StreamExecutionEnvironment.getExecutionEnvironment(), config(), false);
    }

    /** Builds the job exactly as Main does and submits it to {@code env}'s cluster. */
    public JobClient start(StreamExecutionEnvironment env) throws Exception {
        PipelineBuilder.build(env, config(), false);
        job = env.executeAsync("pgdolt-it " + name);
        return job;
    }

    /** Like {@link #start}, restoring the job's state from a savepoint or retained checkpoint. */
    public JobClient startFrom(StreamExecutionEnvironment env, String savepointPath)
            throws Exception {
        PipelineBuilder.build(env, config(), true);
        org.apache.flink.streaming.api.graph.StreamGraph graph = env.getStreamGraph();
        graph.setJobName("pgdolt-it " + name + " (restored)");
        graph.setSavepointRestoreSettings(
                org.apache.flink.runtime.jobgraph.SavepointRestoreSettings.forPath(
                        savepointPath, false));
        job = env.executeAsync(graph);
        return job;
    }

    public JobClient job() {
        return job;
    }

    /** Stops the running job with a canonical savepoint under {@code dir}; returns its path. */
    public String stopWithSavepoint(java.nio.file.Path dir) throws Exception {
        return job.stopWithSavepoint(
                        false,
                        dir.toUri().toString(),
                        org.apache.flink.core.execution.SavepointFormatType.CANONICAL)
                .get(2, java.util.concurrent.TimeUnit.MINUTES);
    }

    /** Asserts the running job was restored from {@code savepoint}. */
    public void assertRestoredFrom(
            org.apache.flink.runtime.minicluster.MiniCluster cluster, String savepoint)
            throws Exception {
        assertThat(
                        cluster.getArchivedExecutionGraph(job.getJobID())
                                .get()
                                .getCheckpointStatsSnapshot()
                                .getLatestRestoredCheckpoint())
                .as("the resumed job restored the savepoint")
                .isNotNull()
                .satisfies(r -> assertThat(r.getExternalPath()).isEqualTo(savepoint));
    }

    /** Waits until the replica has applied the primary transaction {@code xid}. */
    public void awaitApplied(long xid, Duration timeout) {
        awaitApplied(name, xid, timeout);
    }

    /**
     * Waits until the replica's progress row of {@code pipelineId} (for a replication group: {@code
     * <name>.<group>}) holds the primary transaction {@code xid}.
     */
    public void awaitApplied(String pipelineId, long xid, Duration timeout) {
        Awaitility.await("replica applies xid " + xid + " for " + pipelineId)
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(
                        () ->
                                String.valueOf(xid)
                                        .equals(
                                                replica.value(
                                                        "SELECT xid FROM public.pgdolt_progress"
                                                                + " WHERE pipeline_id = '"
                                                                + pipelineId
                                                                + "'")));
    }

    /** Commits an empty-ish marker transaction on the primary and returns its 32-bit xid. */
    public static long currentXid(Connection c) throws SQLException {
        return Long.parseLong(Db.rows(c, "SELECT txid_current() % 4294967296").get(0).get(0));
    }

    /** Asserts every published table holds the same rows on both sides. */
    public void assertTablesEqual() throws SQLException {
        assertTablesEqual(tables);
    }

    /** Asserts each of {@code tables} holds the same rows on both sides. */
    public void assertTablesEqual(List<String> tables) throws SQLException {
        for (String t : tables) {
            // Sorted here, on every column: tables without a key may hold duplicate rows.
            String sql = "SELECT * FROM " + t;
            java.util.Comparator<List<String>> byText =
                    java.util.Comparator.comparing(Object::toString);
            List<List<String>> p = new ArrayList<>(primary.rows(sql));
            List<List<String>> r = new ArrayList<>(replica.rows(sql));
            p.sort(byText);
            r.sort(byText);
            assertThat(r).as("replica table %s (%d rows on the primary)", t, p.size()).isEqualTo(p);
        }
    }

    /**
     * Runs {@code pgdolt verify} with this pipeline's configuration (passwords from files) and
     * returns its exit status; its report goes to stdout.
     */
    public int verify(String... extraArgs) throws java.io.IOException {
        java.nio.file.Path config =
                writeConfig(java.nio.file.Files.createTempDirectory("pgdolt-verify"));
        List<String> args = new ArrayList<>(List.of("--config", config.toString()));
        args.addAll(List.of(extraArgs));
        return io.pgdolt.job.Main.verify(args.toArray(new String[0]), System.out, System.err);
    }

    /**
     * Writes the job configuration to {@code dir}/pgdolt.yaml, with the passwords in files beside
     * it read through {@code ${file:...}}, as a user would deploy it.
     */
    public java.nio.file.Path writeConfig(java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Path primaryPw = dir.resolve("primary.pw");
        java.nio.file.Path replicaPw = dir.resolve("replica.pw");
        java.nio.file.Files.writeString(primaryPw, primaryPassword());
        java.nio.file.Files.writeString(replicaPw, replicaPassword());
        java.nio.file.Path config = dir.resolve("pgdolt.yaml");
        java.nio.file.Files.writeString(
                config,
                yaml().replace("${TEST_PRIMARY_PASSWORD}", "${file:" + primaryPw + "}")
                        .replace("${TEST_REPLICA_PASSWORD}", "${file:" + replicaPw + "}"));
        return config;
    }

    /** The newest retained checkpoint under {@code dir} (a pipeline.checkpoint_dir). */
    public static String latestCheckpoint(java.nio.file.Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(dir)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .map(java.nio.file.Path::getParent)
                    .filter(p -> p.getFileName().toString().startsWith("chk-"))
                    .max(
                            java.util.Comparator.comparingLong(
                                    p -> Long.parseLong(p.getFileName().toString().substring(4))))
                    .map(java.nio.file.Path::toString)
                    .orElseThrow(() -> new AssertionError("no retained checkpoint in " + dir));
        }
    }

    /** A Dolt commit written by the pipeline. */
    public record DoltCommit(String hash, long xid, String lsn, String date, String message) {}

    /** The pipeline's Dolt commits, oldest first. */
    public List<DoltCommit> doltCommits() throws SQLException {
        List<DoltCommit> out = new ArrayList<>();
        for (List<String> row :
                replica.rows(
                        "SELECT commit_hash, date, message FROM dolt_log"
                                + " WHERE message LIKE 'pgdolt: xid %'")) {
            String first = row.get(2).split("\n", 2)[0];
            String[] words = first.split(" ");
            // "pgdolt: xid <xid> at LSN <lsn>"
            out.add(
                    new DoltCommit(
                            row.get(0),
                            Long.parseLong(words[2]),
                            words[5],
                            row.get(1),
                            row.get(2)));
        }
        java.util.Collections.reverse(out);
        return out;
    }

    @Override
    public void close() throws Exception {
        if (job != null) {
            try {
                job.cancel().get();
            } catch (Exception ignored) {
                // Already finished or failed: nothing to cancel.
            }
        }
        // Give the source a moment to release the slot before dropping it.
        for (int i = 0; i < 50; i++) {
            try {
                primary.exec(
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                                + " WHERE slot_name = '"
                                + name
                                + "' OR slot_name LIKE '"
                                + name
                                + "\\_%'");
                break;
            } catch (SQLException e) {
                Thread.sleep(200);
            }
        }
    }
}
