package io.pgdolt.verify;

import java.sql.SQLException;
import java.time.Duration;

/** Lets the replica catch up with the primary before differing buckets are read again. */
interface CatchUp {

    /** Waits at most {@code max} for the replica to apply what the primary has committed now. */
    void await(Duration max) throws SQLException, InterruptedException;

    /** No waiting (tests, or no replication running). */
    CatchUp NONE = max -> {};
}
