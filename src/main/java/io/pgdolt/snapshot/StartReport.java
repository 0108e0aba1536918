package io.pgdolt.snapshot;

import java.io.Serializable;

/**
 * What the start of a pipeline loaded before its job ran: the initial snapshot's rows and tables
 * and how long it took; all zero when it took none (a resume, a restore, a stream-only start).
 */
public record StartReport(long rows, int tables, double seconds) implements Serializable {
    /** A start that loaded nothing. */
    public static final StartReport NONE = new StartReport(0, 0, 0);
}
