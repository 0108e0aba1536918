package io.pgdolt.sink;

import io.pgdolt.config.PipelineConfig;
import io.pgdolt.snapshot.StartReport;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.SourceTransaction;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The committer's Flink metrics, in the {@code pgdolt} group of the sink's committer operator (any
 * configured reporter exports them; see README.md, "Metrics"):
 *
 * <ul>
 *   <li>{@code transactionsApplied}, {@code rowChangesApplied}, {@code replicaCommits} (replica
 *       transactions, on Doltgres Dolt commits), {@code transactionsSkippedAsApplied}: counters;
 *   <li>{@code commitLatencyMs}: histogram of the time one replica commit takes, statements and
 *       commit included (last 1,000 commits);
 *   <li>{@code replicationLagMs}: source commit time to replica commit of the last applied
 *       transaction (what a reader of the replica waits for a primary commit);
 *   <li>{@code replicationLagBytes}: WAL written on the primary after the last applied commit LSN
 *       (polled every 5 s; -1 until known); {@code appliedLsn}, {@code lastAppliedCommitTime}
 *       (epoch ms);
 *   <li>{@code snapshotRows}, {@code snapshotTables}, {@code snapshotSeconds}: the initial snapshot
 *       this run loaded before the job started (0 when none).
 * </ul>
 */
final class SinkMetrics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkMetrics.class);
    private static final long POLL_SECONDS = 5;

    private final MetricGroup group;
    private final Counter transactions;
    private final Counter rows;
    private final Counter commits;
    private final Counter skipped;
    private final Histogram commitLatency;
    private volatile long lagMs;
    private volatile long lastCommitTime;
    private volatile long lagBytes = -1;
    private volatile Supplier<Lsn> applied = () -> Lsn.ZERO;
    private final ScheduledExecutorService poller;
    private Connection primary;

    SinkMetrics(MetricGroup parent, PipelineConfig.Primary primaryConfig, StartReport start) {
        this.group = parent.addGroup("pgdolt");
        this.transactions = group.counter("transactionsApplied");
        this.rows = group.counter("rowChangesApplied");
        this.commits = group.counter("replicaCommits");
        this.skipped = group.counter("transactionsSkippedAsApplied");
        this.commitLatency =
                group.histogram("commitLatencyMs", new DescriptiveStatisticsHistogram(1000));
        group.gauge("replicationLagMs", () -> lagMs);
        group.gauge("replicationLagBytes", () -> lagBytes);
        group.gauge("lastAppliedCommitTime", () -> lastCommitTime);
        group.gauge("appliedLsn", () -> applied.get().value());
        group.gauge("snapshotRows", start::rows);
        group.gauge("snapshotTables", start::tables);
        group.gauge("snapshotSeconds", start::seconds);
        if (primaryConfig == null) {
            poller = null;
        } else {
            poller =
                    Executors.newSingleThreadScheduledExecutor(
                            r -> {
                                Thread t = new Thread(r, "pgdolt-lag-poller");
                                t.setDaemon(true);
                                return t;
                            });
            poller.scheduleWithFixedDelay(
                    () -> pollLagBytes(primaryConfig), 0, POLL_SECONDS, TimeUnit.SECONDS);
        }
    }

    void appliedLsn(Supplier<Lsn> lsn) {
        this.applied = lsn;
    }

    /** One replica commit of {@code txns} took {@code nanos}. */
    void applied(List<SourceTransaction> txns, long nanos) {
        long changes = 0;
        for (SourceTransaction t : txns) {
            changes += t.changeCount();
        }
        transactions.inc(txns.size());
        rows.inc(changes);
        commits.inc();
        commitLatency.update(nanos / 1_000_000);
        SourceTransaction last = txns.get(txns.size() - 1);
        lastCommitTime = last.commitTime().toEpochMilli();
        lagMs = Math.max(0, System.currentTimeMillis() - lastCommitTime);
    }

    void skipped() {
        skipped.inc();
    }

    long transactionsApplied() {
        return transactions.getCount();
    }

    private void pollLagBytes(PipelineConfig.Primary p) {
        try {
            if (primary == null || primary.isClosed()) {
                primary = DriverManager.getConnection(p.jdbcUrl(), p.jdbcProperties("pgdolt-lag"));
            }
            long current;
            try (Statement st = primary.createStatement();
                    ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
                rs.next();
                current = Lsn.parse(rs.getString(1)).value();
            }
            lagBytes = Math.max(0, current - applied.get().value());
        } catch (SQLException | RuntimeException e) {
            LOG.debug("cannot read the primary's WAL position for replicationLagBytes", e);
            closePrimary();
        }
    }

    private void closePrimary() {
        if (primary != null) {
            try {
                primary.close();
            } catch (SQLException ignored) {
                // Discarded either way.
            }
            primary = null;
        }
    }

    @Override
    public void close() {
        if (poller != null) {
            poller.shutdownNow();
            try {
                poller.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closePrimary();
    }
}
