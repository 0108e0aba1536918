package io.pgdolt.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A standalone Flink session cluster run by {@code scripts/cluster.sh}: a JobManager and
 * TaskManagers as separate JVMs. Jobs go through Flink's CLI, state is read from the REST API, and
 * TaskManagers can be killed with SIGKILL.
 */
public final class LocalCluster implements AutoCloseable {
    private static final Path SCRIPT = Path.of("scripts", "cluster.sh").toAbsolutePath();

    private final Path dir;
    private final String rest;
    private final HttpClient http = HttpClient.newHttpClient();

    private LocalCluster(Path dir, String rest) {
        this.dir = dir;
        this.rest = rest;
    }

    /** Starts a cluster with {@code taskManagers} TaskManagers in {@code dir}. */
    public static LocalCluster start(Path dir, int taskManagers) throws Exception {
        run(List.of(SCRIPT.toString(), "start", dir.toString(), String.valueOf(taskManagers)));
        String rest = null;
        for (String line : Files.readAllLines(dir.resolve("cluster.env"))) {
            if (line.startsWith("export PGDOLT_FLINK_REST=")) {
                rest = line.substring(line.indexOf('=') + 1).replace("'", "");
            }
        }
        return new LocalCluster(dir, rest);
    }

    /** The job jar the build produced. */
    public static Path jobJar() throws IOException {
        try (DirectoryStream<Path> jars =
                Files.newDirectoryStream(Path.of("target"), "pgdolt-*.jar")) {
            for (Path jar : jars) {
                if (!jar.getFileName().toString().contains("original")) {
                    return jar.toAbsolutePath();
                }
            }
        }
        throw new IllegalStateException("no target/pgdolt-*.jar: run mvn package first");
    }

    /** Submits the job (detached) with Flink's CLI and returns its id. */
    public String submit(Path config, String... flinkRunOptions) throws Exception {
        List<String> cmd =
                new ArrayList<>(List.of(SCRIPT.toString(), "flink", dir.toString(), "run", "-d"));
        cmd.addAll(List.of(flinkRunOptions));
        cmd.addAll(List.of(jobJar().toString(), "run", "--config", config.toString()));
        String out = run(cmd);
        Matcher m = Pattern.compile("JobID ([0-9a-f]{32})").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no job id in the CLI's output:\n" + out);
        }
        return m.group(1);
    }

    /** {@code flink stop --savepointPath}: returns the savepoint's path. */
    public String stopWithSavepoint(String jobId) throws Exception {
        // A savepoint needs every task running, and a job is RUNNING before its tasks are.
        awaitTasksRunning(jobId, Duration.ofMinutes(2));
        String out =
                run(
                        List.of(
                                SCRIPT.toString(),
                                "flink",
                                dir.toString(),
                                "stop",
                                "--savepointPath",
                                dir.resolve("savepoints").toUri().toString(),
                                jobId));
        Matcher m = Pattern.compile("Savepoint completed\\. Path: (\\S+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no savepoint path in the CLI's output:\n" + out);
        }
        return m.group(1);
    }

    /** The job's state as the REST API reports it (RUNNING, RESTARTING, FAILED, ...). */
    public String state(String jobId) throws Exception {
        String body = get("/jobs/" + jobId);
        Matcher m = Pattern.compile("\"state\":\"([A-Z_]+)\"").matcher(body);
        return m.find() ? m.group(1) : "UNKNOWN";
    }

    /**
     * Waits until every task of the job is RUNNING (the REST API's vertex statuses): the job's own
     * state turns RUNNING once it is scheduled, while its tasks may still be deploying or
     * initializing.
     */
    public void awaitTasksRunning(String jobId, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Pattern status = Pattern.compile("\"status\":\"([A-Z_]+)\"");
        List<String> last = List.of();
        while (System.nanoTime() < deadline) {
            Matcher m = status.matcher(get("/jobs/" + jobId));
            List<String> statuses = new ArrayList<>();
            while (m.find()) {
                statuses.add(m.group(1));
            }
            last = statuses;
            if (!statuses.isEmpty() && statuses.stream().allMatch("RUNNING"::equals)) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(
                "job " + jobId + ": tasks " + last + ", not all RUNNING after " + timeout);
    }

    public void awaitState(String jobId, String state, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            last = state(jobId);
            if (state.equals(last)) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(
                "job " + jobId + " is " + last + ", not " + state + " after " + timeout);
    }

    /**
     * Waits until the job has entered {@code state} after {@code sinceMillis} (epoch ms), from the
     * REST API's record of when the job last entered each state: a restart that is over by the time
     * of the first look still counts.
     */
    public void awaitEnteredSince(String jobId, String state, long sinceMillis, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (enteredAt(jobId, state) > sinceMillis) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("job " + jobId + " did not enter " + state + " within " + timeout);
    }

    /**
     * When the job last entered {@code state} (epoch ms), from the REST API's timestamps; 0 if it
     * never did.
     */
    public long enteredAt(String jobId, String state) throws Exception {
        String body = get("/jobs/" + jobId);
        int timestamps = body.indexOf("\"timestamps\"");
        Matcher m =
                Pattern.compile("\"" + state + "\":(\\d+)")
                        .matcher(timestamps < 0 ? "" : body.substring(timestamps));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** SIGKILL of the newest live TaskManager; returns its pid. */
    public long killTaskManager() throws Exception {
        Path newest = null;
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(dir, "taskmanager-*.pid")) {
            for (Path p : pids) {
                if (newest == null || p.toString().compareTo(newest.toString()) > 0) {
                    newest = p;
                }
            }
        }
        long pid = Long.parseLong(Files.readString(newest).trim());
        ProcessHandle tm =
                ProcessHandle.of(pid)
                        .filter(ProcessHandle::isAlive)
                        .orElseThrow(
                                () ->
                                        new IllegalStateException(
                                                "TaskManager " + pid + " is not running"));
        tm.destroyForcibly();
        tm.onExit().join();
        return pid;
    }

    public void addTaskManager() throws Exception {
        run(List.of(SCRIPT.toString(), "add-taskmanager", dir.toString()));
    }

    private String get(String path) throws Exception {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(URI.create(rest + path))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        run(List.of(SCRIPT.toString(), "stop", dir.toString()));
        // The cluster's logs outlive the test's temporary directory, for diagnosis.
        Path keep = Path.of("target", "cluster-logs", dir.getParent().getFileName().toString());
        Files.createDirectories(keep);
        try (DirectoryStream<Path> logs = Files.newDirectoryStream(dir.resolve("log"))) {
            for (Path log : logs) {
                Files.copy(
                        log,
                        keep.resolve(log.getFileName()),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
