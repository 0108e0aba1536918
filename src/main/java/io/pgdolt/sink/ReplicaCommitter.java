package io.pgdolt.sink;

import io.pgdolt.replica.ApplyException;
import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.SourceTransaction;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Second phase of the two-phase commit: once a checkpoint is complete, applies its source
 * transactions to the replica in commit-LSN order, one replica transaction (and Dolt commit) each.
 *
 * <p>Assumptions this relies on (see DESIGN.md):
 *
 * <ul>
 *   <li>It runs with parallelism 1: one ordered apply stream per pipeline.
 *   <li>Checkpoints are aligned, so sorting one checkpoint's transactions by commit LSN gives the
 *       primary's commit order, and Flink hands checkpoints over in order.
 *   <li>The replica records the last applied commit LSN in the same replica transaction as the data
 *       ({@link ReplicaSession}); a transaction at or below it is already applied and is skipped.
 *       This makes a retried commit idempotent: after a restore, a lost acknowledgement or a
 *       reconnect, nothing is applied twice.
 * </ul>
 *
 * <p>Failures: connection losses and server restarts are retried on a new connection with
 * exponential backoff (the progress row is read again first, since the lost attempt may have
 * committed). A transaction the replica refuses fails the job with xid, LSN, table and statement;
 * nothing after it is applied, and it stays in checkpoint state to be retried after a restore.
 *
 * <p>Called by the committer task's single thread; not thread-safe.
 */
final class ReplicaCommitter implements Committer<SourceTransaction> {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaCommitter.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(200);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(15);
    private static final long PROGRESS_LOG_INTERVAL_MS = 10_000;

    private final ReplicaSink.SessionFactory sessions;
    private final Duration retryTimeout;
    private final Counter transactionsApplied;
    private final Counter rowsApplied;
    private final Counter transactionsSkipped;

    private ReplicaSession session;
    private volatile Lsn appliedLsn = Lsn.ZERO;
    private long lastProgressLog;
    private long appliedSinceLog;

    ReplicaCommitter(
            ReplicaSink.SessionFactory sessions, Duration retryTimeout, MetricGroup metrics) {
        this.sessions = sessions;
        this.retryTimeout = retryTimeout;
        this.transactionsApplied = metrics.counter("transactionsApplied");
        this.rowsApplied = metrics.counter("rowChangesApplied");
        this.transactionsSkipped = metrics.counter("transactionsSkippedAsApplied");
        metrics.gauge("appliedLsn", () -> appliedLsn.value());
    }

    @Override
    public void commit(Collection<CommitRequest<SourceTransaction>> requests)
            throws IOException, InterruptedException {
        List<CommitRequest<SourceTransaction>> ordered = new ArrayList<>(requests);
        ordered.sort(Comparator.comparing(r -> r.getCommittable().commitLsn()));
        for (CommitRequest<SourceTransaction> request : ordered) {
            if (Thread.currentThread().isInterrupted()) {
                // A cancelled task must stop applying at once: its replacement takes over.
                throw new InterruptedException("committer cancelled");
            }
            if (!applyOne(request.getCommittable())) {
                request.signalAlreadyCommitted();
            }
        }
        logProgress(false);
    }

    /** Applies one transaction, retrying transient failures. False if it was applied before. */
    private boolean applyOne(SourceTransaction txn) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + retryTimeout.toNanos();
        Duration backoff = FIRST_BACKOFF;
        int attempt = 0;
        while (true) {
            attempt++;
            try {
                ensureSession();
                if (!txn.commitLsn().isAfter(appliedLsn)) {
                    transactionsSkipped.inc();
                    LOG.debug("skipping {}: the replica already holds up to {}", txn, appliedLsn);
                    return false;
                }
                FaultInjection.at(FaultInjection.BEFORE_APPLY, txn);
                String hash = session.apply(txn, appliedLsn);
                appliedLsn = txn.commitLsn();
                FaultInjection.at(FaultInjection.AFTER_APPLY, txn);
                transactionsApplied.inc();
                rowsApplied.inc(txn.changes().size());
                appliedSinceLog++;
                if (LOG.isDebugEnabled()) {
                    LOG.debug(
                            "applied {} as {}", txn, hash == null ? "a replica transaction" : hash);
                }
                return true;
            } catch (ApplyException | SQLException e) {
                closeSession();
                boolean retry =
                        e instanceof ApplyException
                                ? ((ApplyException) e).isTransient()
                                : isTransientSql((SQLException) e);
                if (!retry) {
                    String message =
                            e instanceof ApplyException
                                    ? e.getMessage()
                                    : "cannot use the replica for " + txn + ": " + e.getMessage();
                    LOG.error("{}; stopping: nothing after it is applied", message);
                    throw new IOException(message, e);
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException(
                            "the replica stayed unavailable for "
                                    + retryTimeout
                                    + " ("
                                    + attempt
                                    + " attempts) while applying "
                                    + txn
                                    + ": "
                                    + e.getMessage(),
                            e);
                }
                LOG.warn(
                        "replica unavailable while applying {} (attempt {}), retrying in {} ms: {}",
                        txn,
                        attempt,
                        backoff.toMillis(),
                        e.getMessage());
                Thread.sleep(backoff.toMillis());
                backoff = min(backoff.multipliedBy(2), MAX_BACKOFF);
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static boolean isTransientSql(SQLException e) {
        String state = e.getSQLState();
        return state == null
                || state.startsWith("08")
                || state.startsWith("57P")
                || state.startsWith("53");
    }

    private void ensureSession() throws SQLException {
        if (session == null) {
            session = sessions.open();
            appliedLsn = session.appliedLsn();
            LOG.info(
                    "connected to the replica; it holds this pipeline's transactions up to commit"
                            + " LSN {}",
                    appliedLsn);
        }
    }

    private void closeSession() {
        if (session != null) {
            session.close();
            session = null;
        }
    }

    private void logProgress(boolean force) {
        long now = System.currentTimeMillis();
        if (appliedSinceLog > 0 && (force || now - lastProgressLog >= PROGRESS_LOG_INTERVAL_MS)) {
            LOG.info(
                    "applied {} source transactions since the last report; replica at commit LSN {}"
                            + " ({} in total)",
                    appliedSinceLog,
                    appliedLsn,
                    transactionsApplied.getCount());
            appliedSinceLog = 0;
            lastProgressLog = now;
        }
    }

    @Override
    public void close() {
        logProgress(true);
        closeSession();
    }
}
