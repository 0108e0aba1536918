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

/**
 * The servers integration tests run against: a PostgreSQL primary with logical WAL, a Doltgres
 * replica and a PostgreSQL replica, all on loopback.
 *
 * <p>Found in this order: the {@code PGDOLT_*} environment variables that {@code scripts/test.sh}
 * exports; else started once per JVM by {@code scripts/servers.sh} (and stopped at exit). Under
 * {@code CI=true} a server that cannot be had fails the test; elsewhere the test is skipped with
 * the reason.
 */
public final class TestServers {
    private static Map<String, String> env;
    private static String unavailable;

    private TestServers() {}

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
    public static Db replica(String kind) {
        return "doltgres".equals(kind) ? doltgres() : pgReplica();
    }

    private static Db db(String which, String database) {
        Map<String, String> e = environment();
        String port = e.get("PGDOLT_" + which + "_PORT");
        if (port == null) {
            String why = "no " + which.toLowerCase(Locale.ROOT) + " test server";
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
        return env;
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

    /** Why servers are missing, for messages. */
    public static String unavailableReason() {
        return unavailable;
    }
}
