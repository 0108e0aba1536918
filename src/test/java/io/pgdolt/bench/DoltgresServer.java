package io.pgdolt.bench;

import io.pgdolt.testing.Db;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A fresh Doltgres server of one benchmark contender, or of one test (its own data directory and
 * loopback port), optionally with Doltgres's built-in replicator configured as its docs say: a
 * {@code postgres_replication} stanza and {@code dolt_transaction_commit: true}.
 */
public final class DoltgresServer implements AutoCloseable {
    private final Path bin;
    private final Path dir;
    private final int port;
    private Process process;

    public DoltgresServer(Path bin, Path dir) throws IOException {
        this.bin = bin;
        this.dir = dir.toAbsolutePath();
        deleteTree(this.dir);
        Files.createDirectories(this.dir.resolve("data"));
        // The built-in replicator writes its position file there and stops if it is missing.
        Files.createDirectories(this.dir.resolve(".doltcfg"));
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            this.port = s.getLocalPort();
        }
    }

    /** The server's {@code postgres} database. */
    public Db db() {
        return new Db("127.0.0.1", port, "postgres", "postgres", "password");
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Starts the server; with {@code primary} set, its replicator streams slot {@code slot}. */
    public void start(Db primary, String slot) throws Exception {
        List<String> yaml = new ArrayList<>();
        yaml.add("log_level: warning");
        yaml.add("behavior:");
        yaml.add("  read_only: false");
        yaml.add("  dolt_transaction_commit: " + (primary != null));
        yaml.add("listener:");
        yaml.add("  host: 127.0.0.1");
        yaml.add("  port: " + port);
        yaml.add("data_dir: " + dir.resolve("data"));
        yaml.add("cfg_dir: " + dir.resolve(".doltcfg"));
        if (primary != null) {
            yaml.add("postgres_replication:");
            yaml.add("  postgres_server_address: " + primary.host());
            yaml.add("  postgres_port: " + primary.port());
            yaml.add("  postgres_user: " + primary.user());
            yaml.add("  postgres_password: " + primary.password());
            yaml.add("  postgres_database: " + primary.database());
            yaml.add("  slot_name: " + slot);
        }
        Files.writeString(dir.resolve("config.yaml"), String.join("\n", yaml) + "\n");
        process =
                new ProcessBuilder(
                                bin.toString(), "--config", dir.resolve("config.yaml").toString())
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(
                                ProcessBuilder.Redirect.appendTo(
                                        dir.resolve("doltgres.log").toFile()))
                        .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try (Connection c = db().connect()) {
                return;
            } catch (SQLException e) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "Doltgres did not start; see " + dir.resolve("doltgres.log"));
                }
                Thread.sleep(100);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            process = null;
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
