package io.pgdolt.testing;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;

/** The embedded Flink cluster integration tests run on: one TaskManager with four slots. */
public final class TestFlink {
    private TestFlink() {}

    /** A new MiniCluster extension; register it in a static field of the test class. */
    public static MiniClusterExtension miniCluster() {
        return new MiniClusterExtension(
                new MiniClusterResourceConfiguration.Builder()
                        .setNumberTaskManagers(1)
                        .setNumberSlotsPerTaskManager(4)
                        .setConfiguration(new Configuration())
                        .build());
    }
}
