package io.pgdolt.snapshot;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.ConfigLoader;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.config.PipelineConfig.StartupMode;
import io.pgdolt.replica.ReplicaDialect;
import io.pgdolt.replica.ReplicaSession;
import io.pgdolt.sink.ReplicaSink;
import io.pgdolt.source.SourceTables;
import io.pgdolt.txn.Lsn;
import io.pgdolt.txn.TableId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, before the streaming job starts, where it starts, and brings the replica there.
 *
 * <ul>
 *   <li>Restoring Flink state: the state says where; nothing to do here.
 *   <li>The replica already records progress for this pipeline (a job started without state over a
 *       replica it filled before): streaming resumes after the replica's LSN — provided the slot
 *       still holds everything after it. A slot confirmed further means changes in between are gone
 *       from the primary; the start is refused rather than continuing with a gap.
 *   <li>Otherwise, by {@code startup.mode}: {@code initial} loads a snapshot and records it as one
 *       commit; {@code from-lsn} records the given position (the replica was loaded up to it by
 *       other means); {@code stream-only} streams from the slot's position, recording nothing.
 * </ul>
 *
 * <p>The replica's progress row means "every primary transaction whose commit LSN is at or below
 * this has been applied". A snapshot or a from-lsn start at position X holds exactly the
 * transactions committed before X, so it is recorded as X - 1; logical decoding from the slot at X
 * delivers exactly the transactions committed at or after X.
 */
public final class StartPosition {
    private static final Logger LOG = LoggerFactory.getLogger(StartPosition.class);

    private StartPosition() {}

    /** The primary's record of the pipeline's slot. */
    record Slot(Lsn confirmed) {}

    /**
     * Brings the replica to the pipeline's starting point.
     *
     * @param restoring the job resumes from a checkpoint or savepoint
     * @return what the start loaded (the initial snapshot), for the job's metrics
     * @throws ConfigException when the start must be refused, saying why and how to recover
     */
    public static StartReport prepare(
            PipelineConfig config, SourceTables tables, boolean restoring) {
        if (restoring) {
            LOG.info(
                    "starting from Flink state: the restored checkpoint holds the source position");
            return StartReport.NONE;
        }
        ReplicaDialect dialect = ReplicaSink.dialect(config);
        try (Connection guard = exclusiveStart(config.primary());
                ReplicaSession session = ReplicaSink.openSession(config)) {
            ReplicaSession.Progress progress = session.progress();
            if (progress != null && !progress.snapshotUnfinished() && !progress.lsn().isZero()) {
                resumeFromReplica(config, progress.lsn());
                return StartReport.NONE;
            }
            StartupMode mode = config.startup().mode();
            if (progress != null && progress.snapshotUnfinished()) {
                if (mode != StartupMode.INITIAL) {
                    throw new ConfigException(
                            "startup.mode: the replica holds part of an initial snapshot of"
                                    + " pipeline "
                                    + config.pipeline().id()
                                    + " that did not finish; start with startup.mode initial to"
                                    + " load it again");
                }
                LOG.warn(
                        "the replica holds part of an initial snapshot that did not finish:"
                                + " emptying {} and loading it again",
                        tables.tables());
                session.truncate(tables.tables());
            }
            switch (mode) {
                case INITIAL:
                    return snapshot(config, tables, dialect, session, progress != null);
                case FROM_LSN:
                    fromLsn(config, session);
                    break;
                case STREAM_ONLY:
                    LOG.info(
                            "startup.mode stream-only: streaming from the slot's position {}; the"
                                    + " replica's tables are taken as they are",
                            slot(config.primary()).confirmed());
                    break;
                default:
                    throw new IllegalStateException(String.valueOf(mode));
            }
            return StartReport.NONE;
        } catch (SQLException | io.pgdolt.replica.ReplicaSchemaException e) {
            throw new ConfigException("cannot prepare the pipeline's start: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigException("interrupted while loading the initial snapshot", e);
        }
    }

    /**
     * A primary session holding an advisory lock on the slot's name for the whole start: a second
     * start of the same pipeline (a repeated submission) waits for nothing and is refused, instead
     * of loading a snapshot into the same tables at the same time.
     */
    private static Connection exclusiveStart(PipelineConfig.Primary p) throws SQLException {
        Connection c = connect(p);
        try (PreparedStatement ps =
                c.prepareStatement("SELECT pg_try_advisory_lock(hashtext('pgdolt start ' || ?))")) {
            ps.setString(1, p.slotName());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    throw new ConfigException(
                            "another start of the pipeline on slot '"
                                    + p.slotName()
                                    + "' is preparing the replica right now (loading its snapshot);"
                                    + " wait for it, or stop it first");
                }
            }
        } catch (SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /**
     * The slot decodes every transaction committed at or after its confirmed position; the replica
     * holds those at or below {@code applied}. Anything committed strictly between is lost.
     */
    private static void resumeFromReplica(PipelineConfig config, Lsn applied) {
        Slot slot = slot(config.primary());
        if (slot.confirmed().compareTo(Lsn.of(applied.value() + 1)) > 0) {
            throw new ConfigException(gapMessage(config, applied, slot.confirmed()));
        }
        LOG.info(
                "resuming from the replica: it holds pipeline {} up to commit LSN {}; the slot is"
                        + " at {}, so nothing is missing",
                config.pipeline().id(),
                applied,
                slot.confirmed());
    }

    /** The documented refusal when the slot has moved past what the replica holds. */
    static String gapMessage(PipelineConfig config, Lsn applied, Lsn confirmed) {
        return "cannot resume: the replica holds pipeline "
                + config.pipeline().id()
                + " up to commit LSN "
                + applied
                + ", but replication slot '"
                + config.primary().slotName()
                + "' has been confirmed up to "
                + confirmed
                + ": changes committed in between may no longer be on the primary. Resume the"
                + " job from its latest checkpoint or savepoint instead (they hold those"
                + " changes), or re-snapshot: empty the replicated tables, delete the pipeline's"
                + " row from pgdolt_progress on the replica, and start with startup.mode initial.";
    }

    private static StartReport snapshot(
            PipelineConfig config,
            SourceTables tables,
            ReplicaDialect dialect,
            ReplicaSession session,
            boolean rowWritten)
            throws SQLException, InterruptedException {
        if (!rowWritten) {
            List<String> filled = new ArrayList<>();
            for (TableId t : tables.tables()) {
                if (session.hasRows(t)) {
                    filled.add(t.toString());
                }
            }
            if (!filled.isEmpty()) {
                throw new ConfigException(
                        "startup.mode initial: the replica's tables "
                                + filled
                                + " already hold rows, and the replica has no progress for"
                                + " pipeline "
                                + config.pipeline().id()
                                + ". Empty them to load a snapshot, or, if they hold the primary's"
                                + " data up to a known LSN, start with startup.mode from-lsn.");
            }
        }
        session.beginSnapshot();
        long started = System.nanoTime();
        Slot before = slot(config.primary());
        InitialSnapshot.Result result;
        Lsn point;
        try (ExportedSnapshot snapshot = ExportedSnapshot.export(config.primary())) {
            point = snapshot.consistentPoint();
            if (before.confirmed().isAfter(point)) {
                throw new ConfigException(
                        "replication slot '"
                                + config.primary().slotName()
                                + "' is confirmed up to "
                                + before.confirmed()
                                + ", past the snapshot's position "
                                + point
                                + ": is another consumer using the slot?");
            }
            result = new InitialSnapshot(config, tables, dialect).load(snapshot);
        }
        Slot after = slot(config.primary());
        if (after.confirmed().isAfter(point)) {
            throw new ConfigException(
                    "replication slot '"
                            + config.primary().slotName()
                            + "' was confirmed up to "
                            + after.confirmed()
                            + " while the snapshot (at "
                            + point
                            + ") loaded: another consumer uses the slot, and changes after the"
                            + " snapshot may be gone. Stop it and start again.");
        }
        StringBuilder message =
                new StringBuilder("pgdolt: initial snapshot of ")
                        .append(result.tables())
                        .append(" tables, ")
                        .append(result.rows())
                        .append(" rows, up to LSN ")
                        .append(point)
                        .append("\n\nHolds every transaction committed on the primary before LSN ")
                        .append(point)
                        .append(".\npipeline: ")
                        .append(config.pipeline().id());
        for (Map.Entry<TableId, Long> e : result.rowsPerTable().entrySet()) {
            message.append("\n  ").append(e.getKey()).append(": ").append(e.getValue());
        }
        // A new session: the one opened before the load sat idle all through it.
        String hash;
        try (ReplicaSession fresh = ReplicaSink.openSession(config)) {
            hash = fresh.recordStart(before(point), message.toString(), Instant.now());
        }
        LOG.info(
                "initial snapshot recorded{}: {} rows of {} tables, up to LSN {}",
                hash == null ? "" : " as Dolt commit " + hash,
                result.rows(),
                result.tables(),
                point);
        advanceSlot(config.primary(), point);
        return new StartReport(result.rows(), result.tables(), (System.nanoTime() - started) / 1e9);
    }

    private static void fromLsn(PipelineConfig config, ReplicaSession session) throws SQLException {
        PipelineConfig.Startup s = config.startup();
        Lsn start = s.lsn() != null ? s.lsn() : readWalLocation(s.walLocationFile());
        Slot slot = slot(config.primary());
        if (slot.confirmed().isAfter(start)) {
            throw new ConfigException(
                    "startup.mode from-lsn: replication slot '"
                            + config.primary().slotName()
                            + "' has been confirmed up to "
                            + slot.confirmed()
                            + ", past the start position "
                            + start
                            + ": the changes in between are gone. Take a new dump (or use"
                            + " startup.mode initial) and start from its position.");
        }
        Lsn current = currentWalLsn(config.primary());
        if (start.isAfter(current)) {
            throw new ConfigException(
                    "startup.mode from-lsn: "
                            + start
                            + " is beyond the primary's current WAL position "
                            + current);
        }
        String hash =
                session.recordStart(
                        before(start),
                        "pgdolt: start at LSN "
                                + start
                                + "\n\nThe replica was loaded with the primary's data up to LSN "
                                + start
                                + "; transactions committed from there on follow.\npipeline: "
                                + config.pipeline().id(),
                        Instant.now());
        LOG.info(
                "startup.mode from-lsn: streaming transactions committed at or after {}{}",
                start,
                hash == null ? "" : " (starting point recorded as Dolt commit " + hash + ")");
        advanceSlot(config.primary(), start);
    }

    /** The LSN in Doltgres's {@code .doltcfg/pg_wal_location} file. */
    static Lsn readWalLocation(String file) {
        String text;
        try {
            text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(
                    "startup.wal_location_file: cannot read " + file + ": " + e.getMessage(), e);
        }
        return ConfigLoader.parseLsn(text.trim(), "startup.wal_location_file (" + file + ")");
    }

    /** The position just before {@code lsn}: "everything committed before lsn". */
    private static Lsn before(Lsn lsn) {
        return Lsn.of(lsn.value() - 1);
    }

    /**
     * Moves the slot to {@code lsn} so that decoding does not go over the changes before it (which
     * the replica already holds). Only a speed-up: the committer skips them anyway.
     */
    private static void advanceSlot(PipelineConfig.Primary p, Lsn lsn) {
        try (Connection c = connect(p);
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT pg_replication_slot_advance(?, ?::pg_lsn) FROM"
                                        + " pg_replication_slots WHERE slot_name = ? AND"
                                        + " confirmed_flush_lsn < ?::pg_lsn")) {
            ps.setString(1, p.slotName());
            ps.setString(2, lsn.toString());
            ps.setString(3, p.slotName());
            ps.setString(4, lsn.toString());
            ps.executeQuery().close();
        } catch (SQLException e) {
            LOG.warn(
                    "could not advance slot {} to {} ({}); decoding starts earlier and the"
                            + " transactions the replica holds are skipped",
                    p.slotName(),
                    lsn,
                    e.getMessage());
        }
    }

    static Slot slot(PipelineConfig.Primary p) {
        try (Connection c = connect(p);
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT confirmed_flush_lsn FROM pg_replication_slots"
                                        + " WHERE slot_name = ?")) {
            ps.setString(1, p.slotName());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new ConfigException(
                            p.key("slot_name")
                                    + ": the primary has no replication slot '"
                                    + p.slotName()
                                    + "'");
                }
                String confirmed = rs.getString(1);
                return new Slot(confirmed == null ? Lsn.ZERO : Lsn.parse(confirmed));
            }
        } catch (SQLException e) {
            throw new ConfigException("cannot read the primary's slot: " + e.getMessage(), e);
        }
    }

    private static Lsn currentWalLsn(PipelineConfig.Primary p) throws SQLException {
        try (Connection c = connect(p);
                PreparedStatement ps = c.prepareStatement("SELECT pg_current_wal_lsn()");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    private static Connection connect(PipelineConfig.Primary p) throws SQLException {
        return DriverManager.getConnection(p.jdbcUrl(), p.jdbcProperties("pgdolt-start"));
    }
}
