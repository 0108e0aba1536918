package io.pgdolt.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgdolt.snapshot.StartReport;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.RowChange;
import io.pgdolt.txn.SourceTransaction;
import io.pgdolt.txn.TableId;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

class SinkMetricsTest {

    /** Records what is registered, by name. */
    static final class Recording extends UnregisteredMetricsGroup {
        final Map<String, Metric> metrics = new HashMap<>();

        @Override
        public MetricGroup addGroup(String name) {
            return this;
        }

        @Override
        public Counter counter(String name) {
            return counter(name, new org.apache.flink.metrics.SimpleCounter());
        }

        @Override
        public <C extends Counter> C counter(String name, C counter) {
            metrics.put(name, counter);
            return counter;
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            metrics.put(name, gauge);
            return gauge;
        }

        @Override
        public <H extends Histogram> H histogram(String name, H histogram) {
            metrics.put(name, histogram);
            return histogram;
        }
    }

    @Test
    void countsTransactionsRowsCommitsLatencyAndLag() throws Exception {
        Recording group = new Recording();
        try (SinkMetrics m = new SinkMetrics(group, null, new StartReport(1000, 3, 2.5))) {
            m.appliedLsn(() -> Lsn.parse("0/1000"));
            Instant commit = Instant.now().minusMillis(1500);
            SourceTransaction a = txn(10, "0/900", commit, 2);
            SourceTransaction b = txn(11, "0/1000", commit, 3);
            m.applied(List.of(a, b), 40_000_000);
            m.applied(List.of(a), 20_000_000);

            assertThat(((Counter) group.metrics.get("transactionsApplied")).getCount())
                    .isEqualTo(3);
            assertThat(((Counter) group.metrics.get("rowChangesApplied")).getCount()).isEqualTo(7);
            assertThat(((Counter) group.metrics.get("replicaCommits")).getCount()).isEqualTo(2);
            Histogram latency = (Histogram) group.metrics.get("commitLatencyMs");
            assertThat(latency.getCount()).isEqualTo(2);
            assertThat(latency.getStatistics().getMax()).isEqualTo(40);
            long lag = (Long) ((Gauge<?>) group.metrics.get("replicationLagMs")).getValue();
            assertThat(lag).isBetween(1500L, 60_000L);
            assertThat(((Gauge<?>) group.metrics.get("appliedLsn")).getValue())
                    .isEqualTo(Lsn.parse("0/1000").value());
            assertThat(((Gauge<?>) group.metrics.get("lastAppliedCommitTime")).getValue())
                    .isEqualTo(commit.toEpochMilli());
            assertThat(((Gauge<?>) group.metrics.get("replicationLagBytes")).getValue())
                    .as("unknown without a primary to ask")
                    .isEqualTo(-1L);
            assertThat(((Gauge<?>) group.metrics.get("snapshotRows")).getValue()).isEqualTo(1000L);
            assertThat(((Gauge<?>) group.metrics.get("snapshotTables")).getValue()).isEqualTo(3);
        }
    }

    private static SourceTransaction txn(long xid, String lsn, Instant time, int changes) {
        List<RowChange> rows = new java.util.ArrayList<>();
        for (int i = 0; i < changes; i++) {
            rows.add(
                    new RowChange(
                            new TableId("public", "t"),
                            RowChange.Op.INSERT,
                            new String[] {"id"},
                            new String[] {String.valueOf(i)},
                            new String[] {"id"},
                            new String[] {String.valueOf(i)}));
        }
        return new SourceTransaction(xid, Lsn.parse(lsn), time, rows);
    }
}
