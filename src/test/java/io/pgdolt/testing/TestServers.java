package io.pgdolt.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension providing the servers integration tests run against: a PostgreSQL primary with
 * logical WAL, a Doltgres replica and a PostgreSQL replica, all on loopback.
 *
 * <p>Found in this order: the {@code PGDOLT_*} environment variables that {@code scripts/test.sh}
 * exports; else started once per JVM by {@code scripts/servers.sh} (and stopped at exit); else,
 * where Docker is present, Testcontainers. Under {@code CI=true} a server that cannot be had fails
 * the test; elsewhere the test is skipped with the reason.
 */
public final class TestServers implements BeforeAllCallback {
    private static Map<String, String> env;
    private static String unavailable;

    /** Used by JUnit through {@code @ExtendWith(TestServers.class)}. */
    public TestServers() {}

    /**
     * Makes sure the servers are there before a test class starts: under {@code CI=true} their
     * absence fails the class, elsewhere it skips it with the reason.
     */
    @Override
    public void beforeAll(ExtensionContext context) {
        primary();
        doltgres();
        pgReplica();
    }

    public static Db primary() {
        return db("PRIMARY", "postgres");
    }

    public static Db doltgres() {
        return db("DOLTGRES", "postgres");
    }

    public static Db pgReplica() {
        return db("PGREPLICA", "postgres");
    }

    /** A replica of the given kind ("doltgres" or "postgres"). */
    /**
     * The Doltgres binary of the test servers (for a test that needs a server of its own), if the
     * environment names one.
     */
    public static java.util.Optional<java.nio.file.Path> doltgresBinary() {
        return java.util.Optional.ofNullable(environment().get("PGDOLT_DOLTGRES_BIN"))
                .map(java.nio.file.Path::of)
                .filter(java.nio.file.Files::isExecutable);
    }

    public static Db replica(String kind) {
        return "doltgres".equals(kind) ? doltgres() : pgReplica();
    }

    private static Db db(String which, String database) {
        Map<String, String> e = environment();
        String port = e.get("PGDOLT_" + which + "_PORT");
        if (port == null) {
            String why =
                    "no " + which.toLowerCase(Locale.ROOT) + " test server (" + unavailable + ")";
            if ("true".equals(System.getenv("CI"))) {
                throw new IllegalStateException(why + " (CI=true: servers are required)");
            }
            Assumptions.abort(why);
        }
        return new Db(
                e.getOrDefault("PGDOLT_" + which + "_HOST", "127.0.0.1"),
                Integer.parseInt(port),
                database,
                e.getOrDefault("PGDOLT_" + which + "_USER", "postgres"),
                e.getOrDefault("PGDOLT_" + which + "_PASSWORD", ""));
    }

    private static synchronized Map<String, String> environment() {
        if (env != null) {
            return env;
        }
        if (System.getenv("PGDOLT_PRIMARY_PORT") != null) {
            env = System.getenv();
            return env;
        }
        env = startWithScripts();
        if (env.isEmpty()) {
            env = startWithTestcontainers();
        }
        return env;
    }

    /** Last resort where Docker exists: the same three servers as containers. */
    private static Map<String, String> startWithTestcontainers() {
        Map<String, String> out = new HashMap<>();
        try {
            if (!org.testcontainers.DockerClientFactory.instance().isDockerAvailable()) {
                unavailable += "; no Docker for Testcontainers either";
                return out;
            }
        } catch (RuntimeException | LinkageError e) {
            unavailable += "; Testcontainers unusable: " + e.getMessage();
            return out;
        }
        var primary =
                new org.testcontainers.containers.PostgreSQLContainer<>("postgres:15")
                        .withUsername("postgres")
                        .withPassword("postgres")
                        .withCommand(
                                "postgres",
                                "-c",
                                "wal_level=logical",
                                "-c",
                                "max_replication_slots=20",
                                "-c",
                                "max_wal_senders=20",
                                "-c",
                                "track_commit_timestamp=on");
        var pgReplica =
                new org.testcontainers.containers.PostgreSQLContainer<>("postgres:15")
                        .withUsername("postgres")
                        .withPassword("postgres");
        var doltgres =
                new org.testcontainers.containers.GenericContainer<>("dolthub/doltgresql:1.3.3")
                        .withEnv("DOLTGRES_USER", "postgres")
                        .withEnv("DOLTGRES_PASSWORD", "password")
                        .withExposedPorts(5432)
                        .waitingFor(
                                org.testcontainers.containers.wait.strategy.Wait
                                        .forListeningPort());
        primary.start();
        pgReplica.start();
        doltgres.start();
        put(out, "PRIMARY", primary.getHost(), primary.getFirstMappedPort(), "postgres");
        put(out, "PGREPLICA", pgReplica.getHost(), pgReplica.getFirstMappedPort(), "postgres");
        put(out, "DOLTGRES", doltgres.getHost(), doltgres.getFirstMappedPort(), "password");
        return out;
    }

    private static void put(
            Map<String, String> out, String which, String host, int port, String pw) {
        out.put("PGDOLT_" + which + "_HOST", host);
        out.put("PGDOLT_" + which + "_PORT", String.valueOf(port));
        out.put("PGDOLT_" + which + "_USER", "postgres");
        out.put("PGDOLT_" + which + "_PASSWORD", pw);
    }

    private static Map<String, String> startWithScripts() {
        Path scripts =
                Path.of(System.getenv().getOrDefault("PGDOLT_SCRIPTS", "scripts")).toAbsolutePath();
        Path script = scripts.resolve("servers.sh");
        Path dir = Path.of("target", "servers-it").toAbsolutePath();
        Map<String, String> out = new HashMap<>();
        if (!Files.isExecutable(script)) {
            unavailable = "scripts/servers.sh not found at " + script;
            return out;
        }
        try {
            Process p =
                    new ProcessBuilder(script.toString(), "start", dir.toString())
                            .redirectErrorStream(true)
                            .redirectOutput(dir.resolveSibling("servers-it.log").toFile())
                            .start();
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                unavailable = "scripts/servers.sh start failed; see target/servers-it.log";
                return out;
            }
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        try {
                                            new ProcessBuilder(
                                                            script.toString(),
                                                            "stop",
                                                            dir.toString())
                                                    .inheritIO()
                                                    .start()
                                                    .waitFor(60, TimeUnit.SECONDS);
                                        } catch (IOException | InterruptedException ignored) {
                                            // JVM exit: nothing more to do.
                                        }
                                    }));
            for (String line :
                    Files.readAllLines(dir.resolve("servers.env"), StandardCharsets.UTF_8)) {
                if (line.startsWith("export ")) {
                    String kv = line.substring(7);
                    int eq = kv.indexOf('=');
                    out.put(kv.substring(0, eq), kv.substring(eq + 1).replace("'", ""));
                }
            }
        } catch (IOException e) {
            unavailable = "cannot run scripts/servers.sh: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            unavailable = "interrupted while starting servers";
        }
        return out;
    }

    /**
     * Stops test server {@code name} ({@code primary}, {@code pgreplica} or {@code doltgres}) with
     * scripts/servers.sh, keeps it down for {@code down}, and starts it again on the same port with
     * its data.
     */
    public static void restart(String name, java.time.Duration down) throws Exception {
        String dir = environment().get("PGDOLT_SERVERS_DIR");
        if (dir == null) {
            throw new IllegalStateException(
                    "cannot restart "
                            + name
                            + ": the servers were not started by scripts/servers.sh");
        }
        Path script =
                Path.of(System.getenv().getOrDefault("PGDOLT_SCRIPTS", "scripts"))
                        .toAbsolutePath()
                        .resolve("servers.sh");
        servers(script, "stop", dir, name);
        Thread.sleep(down.toMillis());
        servers(script, "start", dir, name);
    }

    private static void servers(Path script, String command, String dir, String name)
            throws IOException, InterruptedException {
        Process p =
                new ProcessBuilder(script.toString(), command, dir, name)
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(
                    "servers.sh " + command + " " + name + " failed:\n" + out);
        }
    }

    /** Why servers are missing, for messages. */
    public static String unavailableReason() {
        return unavailable;
    }
}
