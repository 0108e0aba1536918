package io.pgdolt.it;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestServers;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The primary restarted mid-load (fast shutdown, 5 s down): the job's replication and SQL
 * connections fail, Flink restarts it from its checkpoint, the slot still holds the rest. The
 * writer pauses between transactions around the restart so that none of its commits is in doubt.
 */
class PrimaryRestartITCase extends FaultsITCase {

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void survivesAPrimaryRestart(String kind) throws Exception {
        try (ReplicationFixture f = fixture(kind, "prestart")) {
            underLoad(
                    f,
                    load -> {
                        load.pause();
                        TestServers.restart("primary", Duration.ofSeconds(5));
                        load.resume();
                    });
        }
    }
}
