package io.pgdolt.it;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TestServers;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replica server stopped for 30 s mid-load and started again: the committer retries with
 * backoff and carries on by itself; the replica ends equal, one commit per transaction.
 */
class ReplicaOutageITCase extends FaultsITCase {

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void survivesTheReplicaGoingAwayFor30s(String kind) throws Exception {
        try (ReplicationFixture f = fixture(kind, "outage")) {
            underLoad(
                    f,
                    load ->
                            TestServers.restart(
                                    "doltgres".equals(kind) ? "doltgres" : "pgreplica",
                                    Duration.ofSeconds(30)));
        }
    }
}
