package io.pgdolt.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.testing.ReplicationFixture;
import io.pgdolt.testing.TcpProxy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every connection of the job to the primary (replication and SQL) and to the replica cut by a
 * proxy, three times each, alternating, mid-load: the job recovers by itself.
 */
class ConnectionCutITCase extends FaultsITCase {

    @ParameterizedTest
    @ValueSource(strings = {"doltgres", "postgres"})
    void survivesCutConnections(String kind) throws Exception {
        try (ReplicationFixture f = fixture(kind, "cut")) {
            TcpProxy[] proxies = proxies(f);
            try (TcpProxy primary = proxies[0];
                    TcpProxy replica = proxies[1]) {
                int[] cut = new int[2];
                underLoad(
                        f,
                        load -> {
                            for (int i = 0; i < 3; i++) {
                                awaitConnected(primary);
                                int n = load.committed();
                                cut[0] += primary.cut();
                                awaitReplicaPast(f, load, n);
                                awaitConnected(replica);
                                n = load.committed();
                                cut[1] += replica.cut();
                                awaitReplicaPast(f, load, n);
                            }
                        });
                assertThat(cut[0]).as("primary connections cut").isPositive();
                assertThat(cut[1]).as("replica connections cut").isPositive();
            }
        }
    }
}
