package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.ConfigLoader;
import io.pgdolt.job.PipelineBuilder;
import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestServers;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Mistakes in the setup are reported before the job starts, with what to fix: a missing slot or
 * publication, a replica without a replicated table, wrong replica credentials.
 */
@ExtendWith(TestServers.class)
class StartupChecksITCase {

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void refusesToStartOnABrokenSetup(String kind) throws Exception {
        try (ReplicationFixture f =
                ReplicationFixture.create(
                        kind,
                        "startup",
                        List.of("a", "b"),
                        "CREATE TABLE a (id int PRIMARY KEY)",
                        "CREATE TABLE b (id int PRIMARY KEY)")) {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();

            f.replica.exec("DROP TABLE b");
            assertThatThrownBy(() -> PipelineBuilder.build(env, f.config(), false))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("the replica lacks table public.b");

            String yaml = f.yaml();
            Map<String, String> env2 =
                    Map.of(
                            "TEST_PRIMARY_PASSWORD",
                            f.primary.password(),
                            "TEST_REPLICA_PASSWORD",
                            "wrong-password-xyz");
            assertThatThrownBy(
                            () ->
                                    PipelineBuilder.build(
                                            env, ConfigLoader.parse(yaml, env2::get), false))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("replica.url: cannot use the replica")
                    .hasMessageNotContaining("wrong-password-xyz");

            String noSlot = yaml.replace("slot_name: " + f.name, "slot_name: no_such_slot");
            assertThatThrownBy(
                            () ->
                                    PipelineBuilder.build(
                                            env,
                                            ConfigLoader.parse(
                                                    noSlot + "\n",
                                                    Map.of(
                                                                    "TEST_PRIMARY_PASSWORD",
                                                                    f.primary.password(),
                                                                    "TEST_REPLICA_PASSWORD",
                                                                    f.replica.password())
                                                            ::get),
                                            false))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("no replication slot 'no_such_slot'")
                    .hasMessageContaining("pg_create_logical_replication_slot");
        }
    }
}
