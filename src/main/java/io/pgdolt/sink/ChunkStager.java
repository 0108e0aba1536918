package io.pgdolt.sink;

import io.pgdolt.replica.StagingTable;
import io.pgdolt.txn.TransactionChunk;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stages the chunks of large source transactions in the replica's staging table ({@link
 * StagingTable}), each committed before {@link #stage} returns, on a connection of its own opened
 * at the first chunk. A slow replica therefore slows the job (backpressure) instead of filling
 * memory. Connection losses are retried with backoff on a new connection for up to the retry
 * timeout; restaging a chunk replaces it, so a retry or a replay after a restore is harmless.
 */
final class ChunkStager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkStager.class);
    private static final Duration FIRST_BACKOFF = Duration.ofMillis(200);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(15);

    private final ReplicaSink.SessionFactory sessions;
    private final Duration retryTimeout;
    private Connection connection;
    private long staged;

    ChunkStager(ReplicaSink.SessionFactory sessions, Duration retryTimeout) {
        this.sessions = sessions;
        this.retryTimeout = retryTimeout;
    }

    void stage(TransactionChunk chunk) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + retryTimeout.toNanos();
        Duration backoff = FIRST_BACKOFF;
        while (true) {
            try {
                if (connection == null) {
                    connection = sessions.connect();
                    connection.setAutoCommit(false);
                }
                StagingTable.stage(connection, sessions.pipelineId(), chunk);
                if (++staged % 100 == 0 || chunk.seq() % 100 == 0) {
                    LOG.info(
                            "staged {} on the replica ({} chunks staged by this task)",
                            chunk,
                            staged);
                }
                return;
            } catch (SQLException e) {
                close();
                if (!ReplicaCommitter.isTransientSql(e)) {
                    throw new IOException(
                            "the replica refused to stage "
                                    + chunk
                                    + " in "
                                    + StagingTable.TABLE
                                    + ": "
                                    + e.getMessage(),
                            e);
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException(
                            "the replica stayed unavailable for "
                                    + retryTimeout
                                    + " while staging "
                                    + chunk
                                    + ": "
                                    + e.getMessage(),
                            e);
                }
                LOG.warn(
                        "replica unavailable while staging {}, retrying in {} ms: {}",
                        chunk,
                        backoff.toMillis(),
                        e.getMessage());
                Thread.sleep(backoff.toMillis());
                backoff =
                        backoff.multipliedBy(2).compareTo(MAX_BACKOFF) < 0
                                ? backoff.multipliedBy(2)
                                : MAX_BACKOFF;
            }
        }
    }

    @Override
    public void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Closing a broken connection; the next chunk opens a new one.
            }
            connection = null;
        }
    }
}
