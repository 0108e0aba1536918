package io.pgdolt.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: bad input gets a clear message and exit status 2, and nothing starts. */
class MainTest {
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream originalErr;

    @BeforeEach
    void captureStderr() {
        originalErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreStderr() {
        System.setErr(originalErr);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void usageErrors() throws Exception {
        assertThat(Main.run(new String[] {"replicate"})).isEqualTo(2);
        assertThat(stderr()).contains("unknown command 'replicate'").contains("usage:");
        assertThat(Main.run(new String[] {"run"})).isEqualTo(2);
        assertThat(stderr()).contains("missing --config FILE");
        assertThat(Main.run(new String[] {"run", "--config", "x.yaml", "--bogus"})).isEqualTo(2);
        assertThat(stderr()).contains("unexpected argument '--bogus'");
    }

    @Test
    void verifyUsageErrors() throws Exception {
        assertThat(Main.run(new String[] {"verify"})).isEqualTo(2);
        assertThat(stderr()).contains("pgdolt verify: missing --config FILE").contains("usage:");
        assertThat(Main.run(new String[] {"verify", "--config", "x.yaml", "--bogus", "1"}))
                .isEqualTo(2);
        assertThat(stderr()).contains("unexpected argument '--bogus'");
        assertThat(Main.run(new String[] {"verify", "--config", "x.yaml", "--recheck-wait", "5"}))
                .isEqualTo(2);
        assertThat(stderr()).contains("--recheck-wait: '5' is not a duration");
        assertThat(Main.run(new String[] {"verify", "--config", "x.yaml", "--recheck", "-1"}))
                .isEqualTo(2);
        assertThat(stderr()).contains("--recheck: '-1' is not a whole number from 0 to 100");
    }

    @Test
    void verifyReportsAnUnreachableReplicaWithoutThePassword(@TempDir Path dir) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Path config = dir.resolve("c.yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "postgres_replication:",
                        "  postgres_server_address: 127.0.0.1",
                        "  postgres_port: " + closedPort,
                        "  postgres_user: repl",
                        "  postgres_password: hunter2-secret",
                        "  slot_name: s1",
                        "replica:",
                        "  url: jdbc:postgresql://127.0.0.1:"
                                + closedPort
                                + "/r?password=hunter2-secret",
                        "  password: hunter2-secret"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream verifyErr = new ByteArrayOutputStream();
        assertThat(
                        Main.verify(
                                new String[] {"--config", config.toString()},
                                new PrintStream(out, true, StandardCharsets.UTF_8),
                                new PrintStream(verifyErr, true, StandardCharsets.UTF_8)))
                .isEqualTo(2);
        assertThat(verifyErr.toString(StandardCharsets.UTF_8))
                .contains("cannot check the primary at 127.0.0.1:" + closedPort)
                .doesNotContain("hunter2-secret");
        assertThat(out.size()).isZero();
    }

    @Test
    void missingAndInvalidConfig(@TempDir Path dir) throws Exception {
        assertThat(Main.run(new String[] {"run", "--config", dir.resolve("none.yaml").toString()}))
                .isEqualTo(2);
        assertThat(stderr()).contains("config file").contains("does not exist");
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "postgres_replication:\n  postgres_server_address: h\n");
        assertThat(Main.run(new String[] {"run", "--config", bad.toString()})).isEqualTo(2);
        assertThat(stderr()).contains("missing key 'postgres_replication.slot_name'");
    }

    @Test
    void unreachablePrimaryIsReportedWithoutThePassword(@TempDir Path dir) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Path config = dir.resolve("c.yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "postgres_replication:",
                        "  postgres_server_address: 127.0.0.1",
                        "  postgres_port: " + closedPort,
                        "  postgres_user: repl",
                        "  postgres_password: hunter2-secret",
                        "  slot_name: s1",
                        "replica:",
                        "  url: jdbc:postgresql://127.0.0.1:" + closedPort + "/r",
                        "  password: hunter2-secret"));
        assertThat(Main.run(new String[] {"run", "--config", config.toString()})).isEqualTo(2);
        assertThat(stderr())
                .contains("cannot check the primary at 127.0.0.1:" + closedPort)
                .doesNotContain("hunter2-secret");
    }
}
