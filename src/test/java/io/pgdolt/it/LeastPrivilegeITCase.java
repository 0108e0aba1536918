package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestFlink;
import io.pgdolt.testing.TestServers;
import io.pgdolt.testing.Workload;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The job runs with the rights the README asks an administrator to grant, and no more: on the
 * primary a role with REPLICATION and SELECT on the published tables (publication and slot made by
 * the administrator); on the replica a role that may read and write the replicated tables and the
 * progress table. Both connections use TLS with certificate and host verification. Snapshot,
 * streaming and verify work, and neither password appears anywhere in the logs.
 */
@ExtendWith(TestServers.class)
class LeastPrivilegeITCase {

    @RegisterExtension static final MiniClusterExtension FLINK = TestFlink.miniCluster();

    private static final List<String> LOGGERS =
            List.of("io.pgdolt", "io.debezium", "org.apache.flink", "org.postgresql");

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void replicatesWithLeastPrivilegeOverTlsAndNeverLogsAPassword(String kind) throws Exception {
        String primaryCert = requiredEnv("PGDOLT_PRIMARY_SSLROOTCERT");
        StringBuilder logs = new StringBuilder();
        AbstractAppender capture = capture(logs);
        try (ReplicationFixture f =
                ReplicationFixture.create(kind, "leastpriv", Workload.TABLES, Workload.DDL)) {
            String replicator = f.name + "_repl";
            String writer = f.name + "_writer";
            String replicatorPassword = "pw-" + UUID.randomUUID();
            String writerPassword = "pw-" + UUID.randomUUID();
            String tables = String.join(", ", Workload.TABLES);
            f.primary.exec(
                    "CREATE ROLE "
                            + replicator
                            + " LOGIN REPLICATION PASSWORD '"
                            + replicatorPassword
                            + "'",
                    "GRANT SELECT ON " + tables + " TO " + replicator);
            f.withPrimaryLogin(
                            replicator,
                            replicatorPassword,
                            "sslmode: verify-full",
                            "sslrootcert: " + primaryCert)
                    .withStartupYaml("mode: initial");
            if ("postgres".equals(kind)) {
                f.replica.exec(
                        ReplicaSession.PROGRESS_TABLE_DDL,
                        io.pgdolt.replica.StagingTable.DDL,
                        "CREATE ROLE " + writer + " LOGIN PASSWORD '" + writerPassword + "'",
                        "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON "
                                + tables
                                + ", public.pgdolt_progress, public.pgdolt_staging TO "
                                + writer);
                f.withReplicaLogin(writer, writerPassword)
                        .withReplicaYaml(
                                "sslmode: verify-full",
                                "sslrootcert: " + requiredEnv("PGDOLT_PGREPLICA_SSLROOTCERT"));
            }
            // Doltgres 1.3 lets no role but a superuser read information_schema or pg_catalog
            // (grants on them are accepted and ignored), and pgdolt reads the replica's column
            // types there: on Doltgres the job writes as the server's superuser.

            Workload w = new Workload(5);
            try (Connection c = f.primary.connect()) {
                w.run(c, 50);
            }
            f.start(StreamExecutionEnvironment.getExecutionEnvironment());
            try (Connection c = f.primary.connect()) {
                w.run(c, 100);
            }
            List<Long> xids = w.xids();
            f.awaitApplied(xids.get(xids.size() - 1), Duration.ofMinutes(2));
            f.assertTablesEqual();
            assertThat(f.verify()).isZero();

            // Every connection of the job's primary role (SQL and replication) is encrypted.
            assertThat(
                            f.primary.rows(
                                    "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a"
                                            + " USING (pid) WHERE a.usename = '"
                                            + replicator
                                            + "'"))
                    .isNotEmpty()
                    .allSatisfy(row -> assertThat(row.get(0)).isEqualTo("t"));
            if ("postgres".equals(kind)) {
                assertThat(
                                f.replica.rows(
                                        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a"
                                                + " USING (pid) WHERE a.usename = '"
                                                + writer
                                                + "'"))
                        .isNotEmpty()
                        .allSatisfy(row -> assertThat(row.get(0)).isEqualTo("t"));
            }

            String text = logs.toString();
            // The capture saw the connector's own INFO logging, where the password was printed
            // before ConnectorLogGuard.
            assertThat(text)
                    .contains("initial snapshot")
                    .contains("org.apache.flink.cdc.connectors.postgres")
                    .contains("raised to WARN");
            assertThat(text).doesNotContain(replicatorPassword).doesNotContain(writerPassword);
        } finally {
            release(capture);
        }
    }

    private static String requiredEnv(String name) {
        String v = System.getenv(name);
        assertThat(v)
                .as("%s (scripts/servers.sh gives the test servers TLS certificates)", name)
                .isNotBlank();
        return v;
    }

    /** Collects every event of the job's loggers at INFO and above, with stack traces. */
    private static AbstractAppender capture(StringBuilder sink) {
        AbstractAppender appender =
                new AbstractAppender("password-check", null, null, true, Property.EMPTY_ARRAY) {
                    @Override
                    public void append(LogEvent event) {
                        StringWriter sw = new StringWriter();
                        sw.append(event.getLoggerName())
                                .append(' ')
                                .append(event.getMessage().getFormattedMessage())
                                .append('\n');
                        if (event.getThrown() != null) {
                            event.getThrown().printStackTrace(new PrintWriter(sw));
                        }
                        synchronized (sink) {
                            sink.append(sw);
                        }
                    }
                };
        appender.start();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().addAppender(appender, Level.ALL, null);
        for (String logger : LOGGERS) {
            Configurator.setLevel(logger, Level.INFO);
        }
        // As on a cluster with Flink's default logging (INFO): this is the logger that printed
        // the connector configuration with the password.
        Configurator.setLevel(
                "org.apache.flink.cdc.connectors.postgres.source.fetch"
                        + ".PostgresSourceFetchTaskContext",
                Level.INFO);
        ctx.updateLoggers();
        return appender;
    }

    private static void release(AbstractAppender appender) {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().removeAppender(appender.getName());
        Configurator.setLevel(
                Map.of(
                        "io.debezium",
                        Level.WARN,
                        "org.apache.flink",
                        Level.WARN,
                        "org.postgresql",
                        Level.WARN));
        ctx.updateLoggers();
        appender.stop();
    }
}
