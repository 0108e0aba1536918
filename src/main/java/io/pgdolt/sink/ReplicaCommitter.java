package io.pgdolt.sink;

import io.pgdolt.replica.ApplyException;
import io.pgdolt.replica.ConcurrentCommitterException;
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
final class ReplicaCommitter implements Committer<TransactionCommittable> {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaCommitter.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(200);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(15);
    private static final long PROGRESS_LOG_INTERVAL_MS = 10_000;

    private final ReplicaSink.SessionFactory sessions;
    private final Duration retryTimeout;
    private final boolean perCheckpoint;
    private final SinkMetrics metrics;

    private ReplicaSession session;
    private volatile Lsn appliedLsn = Lsn.ZERO;
    private long lastProgressLog;
    private long appliedSinceLog;

    ReplicaCommitter(
            ReplicaSink.SessionFactory sessions,
            Duration retryTimeout,
            boolean perCheckpoint,
            SinkMetrics metrics) {
        this.sessions = sessions;
        this.retryTimeout = retryTimeout;
        this.perCheckpoint = perCheckpoint;
        this.metrics = metrics;
        metrics.appliedLsn(() -> appliedLsn);
    }

    /**
     * Applies one checkpoint's transactions in commit order: each as its own replica transaction
     * ({@link ReplicaSession#applyEach}), or (commit granularity {@code checkpoint}) all of them as
     * one. Only the last commit of the call has to be durable before it returns (see {@link
     * ReplicaSession#apply(List, Lsn, boolean)}); should the replica lose earlier ones in a crash,
     * the retry finds its progress row behind them and applies them again.
     */
    @Override
    public void commit(Collection<CommitRequest<TransactionCommittable>> requests)
            throws IOException, InterruptedException {
        List<SourceTransaction> ordered = new ArrayList<>(requests.size());
        for (CommitRequest<TransactionCommittable> r : requests) {
            ordered.add(r.getCommittable().txn());
        }
        ordered.sort(Comparator.comparing(SourceTransaction::commitLsn));
        long deadline = System.nanoTime() + retryTimeout.toNanos();
        Duration backoff = FIRST_BACKOFF;
        int attempt = 0;
        int next = 0;
        while (next < ordered.size()) {
            if (Thread.currentThread().isInterrupted()) {
                // A cancelled task must stop applying at once: its replacement takes over.
                throw new InterruptedException("committer cancelled");
            }
            SourceTransaction txn = ordered.get(next);
            attempt++;
            try {
                if (ensureSession()) {
                    // A new connection: the replica's progress says where to go on (a crashed
                    // replica may have lost commits that were not durable yet).
                    int from = next;
                    next = firstAfter(ordered, appliedLsn);
                    for (SourceTransaction skipped : ordered.subList(from, Math.max(from, next))) {
                        session.discardStaged(skipped);
                    }
                    if (next == ordered.size()) {
                        break;
                    }
                    txn = ordered.get(next);
                }
                if (!txn.commitLsn().isAfter(appliedLsn)) {
                    // Applied already; a restore may have staged its chunks again.
                    session.discardStaged(txn);
                    metrics.skipped();
                    LOG.debug("skipping {}: the replica already holds up to {}", txn, appliedLsn);
                    next++;
                    continue;
                }
                List<SourceTransaction> rest = ordered.subList(next, ordered.size());
                for (SourceTransaction t : rest) {
                    FaultInjection.at(FaultInjection.BEFORE_APPLY, t);
                }
                if (perCheckpoint) {
                    long started = System.nanoTime();
                    String hash = session.apply(rest, appliedLsn, true);
                    SourceTransaction last = rest.get(rest.size() - 1);
                    appliedLsn = last.commitLsn();
                    metrics.applied(rest, System.nanoTime() - started);
                    for (SourceTransaction t : rest) {
                        FaultInjection.at(FaultInjection.AFTER_APPLY, t);
                    }
                    appliedSinceLog += rest.size();
                    LOG.debug("applied {} transaction(s) up to {} as {}", rest.size(), last, hash);
                } else {
                    // One replica transaction each; each commit rides with the next one's
                    // statements, and only the last must be durable.
                    session.applyEach(
                            rest,
                            appliedLsn,
                            true,
                            (t, nanos) -> {
                                appliedLsn = t.commitLsn();
                                metrics.applied(List.of(t), nanos);
                                appliedSinceLog++;
                                FaultInjection.at(FaultInjection.AFTER_APPLY, t);
                            });
                }
                next = ordered.size();
                attempt = 0;
                backoff = FIRST_BACKOFF;
                deadline = System.nanoTime() + retryTimeout.toNanos();
            } catch (ApplyException | SQLException | ConcurrentCommitterException e) {
                closeSession();
                boolean retry =
                        e instanceof ApplyException
                                ? ((ApplyException) e).isTransient()
                                : e instanceof ConcurrentCommitterException
                                        || isTransientSql((SQLException) e);
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
        logProgress(false);
    }

    /** Index of the first transaction in {@code ordered} committed after {@code lsn}. */
    private static int firstAfter(List<SourceTransaction> ordered, Lsn lsn) {
        int i = 0;
        while (i < ordered.size() && !ordered.get(i).commitLsn().isAfter(lsn)) {
            i++;
        }
        return i;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    static boolean isTransientSql(SQLException e) {
        String state = e.getSQLState();
        return state == null
                || state.startsWith("08")
                || state.startsWith("57P")
                || state.startsWith("53");
    }

    /** Opens a session if there is none; true if it did (the progress was read again). */
    private boolean ensureSession() throws SQLException {
        if (session != null) {
            return false;
        }
        ReplicaSession opened = sessions.open();
        try {
            // The lock first (where it is the fence), then the position: nobody moves it after.
            opened.claim();
            appliedLsn = opened.appliedLsn();
        } catch (SQLException | RuntimeException e) {
            opened.close();
            throw e;
        }
        session = opened;
        LOG.info(
                "connected to the replica; it holds this pipeline's transactions up to commit"
                        + " LSN {}",
                appliedLsn);
        return true;
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
                    metrics.transactionsApplied());
            appliedSinceLog = 0;
            lastProgressLog = now;
        }
    }

    @Override
    public void close() {
        logProgress(true);
        closeSession();
        metrics.close();
    }
}
