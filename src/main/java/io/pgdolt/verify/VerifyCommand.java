package io.pgdolt.verify;

import io.pgdolt.config.ConfigException;
import io.pgdolt.config.ConfigLoader;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.source.PostgresCdcSource;
import io.pgdolt.source.SourceTables;
import io.pgdolt.txn.TableId;
import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code pgdolt verify}: compares the replica with the primary, table by table, for the tables the
 * configured pipeline replicates. Exit status 0 when every table is equal, 1 when any differs (the
 * report on stdout names the keys), 2 on a usage, configuration or connection error (a message on
 * stderr, never a password).
 */
public final class VerifyCommand {
    /** Usage lines of the sub-command, for the command line's help. */
    public static final String USAGE =
            String.join(
                    "\n",
                    "       pgdolt verify --config FILE [--table SCHEMA.TABLE ...] [--recheck N]",
                    "                     [--recheck-wait DURATION] [--max-keys N]");

    /** Option descriptions, for the command line's help. */
    public static final String OPTIONS =
            String.join(
                    "\n",
                    "  --table         (verify) only this table; repeat for more (default: every",
                    "                  table the pipeline replicates)",
                    "  --recheck       (verify) times differing parts are read again after waiting",
                    "                  for the replica; only lasting differences are reported"
                            + " (default 3)",
                    "  --recheck-wait  (verify) longest wait for the replica before a recheck",
                    "                  (default 5s; e.g. 500ms, 10s, 1m)",
                    "  --max-keys      (verify) differing keys listed per table (default 50)");

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m)");

    private VerifyCommand() {}

    /**
     * Runs the sub-command.
     *
     * @param args the arguments after {@code verify}
     * @param env resolves {@code ${NAME}} in the configuration
     * @return the exit status
     */
    public static int run(
            List<String> args, PrintStream out, PrintStream err, Function<String, String> env) {
        String configPath = null;
        List<TableId> tables = new ArrayList<>();
        int recheck = VerifyOptions.DEFAULT_RECHECK;
        Duration wait = VerifyOptions.DEFAULT_RECHECK_WAIT;
        int maxKeys = VerifyOptions.DEFAULT_MAX_KEYS;
        try {
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i);
                if (!a.startsWith("--") || i + 1 >= args.size()) {
                    throw new UsageException(
                            a.startsWith("--")
                                    ? "missing value after " + a
                                    : "unexpected argument '" + a + "'");
                }
                String v = args.get(++i);
                switch (a) {
                    case "--config":
                        configPath = v;
                        break;
                    case "--table":
                        for (String t : v.split(",")) {
                            try {
                                tables.add(TableId.parse(t.trim()));
                            } catch (IllegalArgumentException e) {
                                throw new UsageException("--table: " + e.getMessage());
                            }
                        }
                        break;
                    case "--recheck":
                        recheck = number(a, v, 0, 100);
                        break;
                    case "--recheck-wait":
                        wait = duration(v);
                        break;
                    case "--max-keys":
                        maxKeys = number(a, v, 1, 1_000_000);
                        break;
                    default:
                        throw new UsageException("unexpected argument '" + a + "'");
                }
            }
            if (configPath == null) {
                throw new UsageException("missing --config FILE");
            }
        } catch (UsageException e) {
            err.println("pgdolt verify: " + e.getMessage() + "\n\nusage: " + USAGE.substring(7));
            return 2;
        }
        VerifyOptions options =
                new VerifyOptions(tables, recheck, wait, maxKeys, VerifyOptions.DEFAULT_DRILL_ROWS);
        try {
            PipelineConfig config = ConfigLoader.load(Path.of(configPath), env);
            return verify(config, options, out, err);
        } catch (ConfigException e) {
            err.println("pgdolt verify: configuration error: " + e.getMessage());
            return 2;
        } catch (VerifyException e) {
            err.println("pgdolt verify: " + e.getMessage());
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("pgdolt verify: interrupted");
            return 2;
        }
    }

    /**
     * Compares the tables of {@code config}'s pipeline, group by group when it has replication
     * groups (a report each); returns the exit status, the worst of the groups'.
     */
    static int verify(
            PipelineConfig config, VerifyOptions options, PrintStream out, PrintStream err)
            throws InterruptedException {
        List<PipelineConfig> streams = config.streams();
        List<SourceTables> published = new ArrayList<>();
        java.util.Set<TableId> replicated = new java.util.LinkedHashSet<>();
        for (PipelineConfig stream : streams) {
            SourceTables tables = PostgresCdcSource.checkPrimary(stream.primary());
            published.add(tables);
            replicated.addAll(tables.tables());
        }
        for (TableId t : options.tables()) {
            if (!replicated.contains(t)) {
                throw new ConfigException(
                        "--table "
                                + t
                                + ": not a table this pipeline replicates (it replicates "
                                + replicated
                                + ")");
            }
        }
        int status = 0;
        for (int i = 0; i < streams.size(); i++) {
            List<TableId> chosen =
                    options.tables().isEmpty()
                            ? published.get(i).tables()
                            : options.tables().stream()
                                    .distinct()
                                    .filter(published.get(i).byId()::containsKey)
                                    .toList();
            if (!chosen.isEmpty()) {
                status =
                        Math.max(
                                status,
                                verifyStream(
                                        streams.get(i),
                                        published.get(i),
                                        chosen,
                                        options,
                                        out,
                                        err));
            }
        }
        return status;
    }

    /** Compares {@code chosen}, tables of one ordered apply stream; returns the exit status. */
    private static int verifyStream(
            PipelineConfig config,
            SourceTables published,
            List<TableId> chosen,
            VerifyOptions options,
            PrintStream out,
            PrintStream err)
            throws InterruptedException {
        PipelineConfig.Primary p = config.primary();
        PipelineConfig.Replica rep = config.replica();
        Connector primary = new Connector("primary", p.jdbcUrl(), p.user(), p.password());
        Connector replica = new Connector("replica", rep.url(), rep.user(), rep.password());
        boolean doltgres = rep.kind() == PipelineConfig.ReplicaKind.DOLTGRES;
        ExecutorService pool =
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "pgdolt-verify-replica");
                            t.setDaemon(true);
                            return t;
                        });
        try (JdbcRowSource primaryRows =
                        new JdbcRowSource(open(primary), false, true, JdbcRowSource.PAGE_ROWS);
                JdbcRowSource replicaRows =
                        new JdbcRowSource(open(replica), doltgres, false, JdbcRowSource.PAGE_ROWS);
                ReplicaCatchUp catchUp =
                        new ReplicaCatchUp(primary, replica, config.pipeline().id(), err)) {
            Map<TableId, TableResult> results = new LinkedHashMap<>();
            List<TableSpec> comparable = new ArrayList<>();
            try (Connection pc = open(primary);
                    Connection rc = open(replica)) {
                for (TableId t : chosen) {
                    TableSpec spec = spec(pc, p, published.byId().get(t), t);
                    String problem = replicaProblem(rc, spec);
                    results.put(t, null);
                    if (problem != null) {
                        results.put(t, TableResult.notCompared(spec, problem));
                    } else {
                        comparable.add(spec);
                    }
                }
            } catch (SQLException e) {
                throw new VerifyException(
                        "cannot read the tables' definitions: " + e.getMessage(), e);
            }
            err.printf(
                    "pgdolt verify: comparing %d table%s of pipeline %s%n",
                    chosen.size(), chosen.size() == 1 ? "" : "s", config.pipeline().id());
            ProgressMeter meter = new ProgressMeter(err, Duration.ofSeconds(5));
            for (TableResult r :
                    Verifier.run(
                            comparable, primaryRows, replicaRows, catchUp, options, pool, meter)) {
                results.put(r.spec().id(), r);
            }
            List<String> header = new ArrayList<>();
            header.add(
                    "pgdolt verify: primary "
                            + p.host()
                            + ":"
                            + p.port()
                            + "/"
                            + p.database()
                            + " (publication "
                            + p.publicationName()
                            + "), replica "
                            + ConfigLoader.redactUrl(rep.url())
                            + " ("
                            + rep.kind().name().toLowerCase(java.util.Locale.ROOT)
                            + ")");
            header.add(catchUp.describe());
            List<TableResult> ordered = new ArrayList<>(results.values());
            Report.write(out, header, ordered);
            return Report.allEqual(ordered) ? 0 : 1;
        } catch (SQLException e) {
            throw new VerifyException(e.getMessage(), e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static Connection open(Connector c) {
        try {
            return c.open();
        } catch (SQLException e) {
            throw new VerifyException(
                    "cannot connect to the "
                            + c.role()
                            + " at "
                            + c.describe()
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** The table as compared: published columns, key, row filter and the primary's size guess. */
    private static TableSpec spec(
            Connection c, PipelineConfig.Primary p, SourceTables.Table table, TableId t)
            throws SQLException {
        List<String> columns = new ArrayList<>(table.columns().keySet());
        List<String> types = new ArrayList<>();
        for (String col : columns) {
            types.add(table.definition().typeNames().get(col));
        }
        List<String> key =
                !table.identity().isEmpty() ? table.identity() : table.definition().primaryKey();
        String rowFilter = null;
        if (c.getMetaData().getDatabaseMajorVersion() >= 15) {
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "SELECT rowfilter FROM pg_publication_tables"
                                    + " WHERE pubname = ? AND schemaname = ? AND tablename = ?")) {
                ps.setString(1, p.publicationName());
                ps.setString(2, t.schema());
                ps.setString(3, t.table());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        rowFilter = rs.getString(1);
                    }
                }
            }
        }
        long estimate = -1;
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT c.reltuples::bigint FROM pg_class c"
                                + " JOIN pg_namespace n ON n.oid = c.relnamespace"
                                + " WHERE n.nspname = ? AND c.relname = ?")) {
            ps.setString(1, t.schema());
            ps.setString(2, t.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    estimate = rs.getLong(1);
                }
            }
        }
        return new TableSpec(t, columns, types, key, rowFilter, estimate);
    }

    /** Why the replica's table cannot be compared (missing, or lacking columns), or null. */
    private static String replicaProblem(Connection c, TableSpec spec) throws SQLException {
        Set<String> present = new HashSet<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT column_name FROM information_schema.columns"
                                + " WHERE table_schema = ? AND table_name = ?")) {
            ps.setString(1, spec.id().schema());
            ps.setString(2, spec.id().table());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    present.add(rs.getString(1));
                }
            }
        }
        if (present.isEmpty()) {
            return "the replica has no table " + spec.id();
        }
        List<String> missing = new ArrayList<>();
        for (String col : spec.columns()) {
            if (!present.contains(col)) {
                missing.add(col);
            }
        }
        return missing.isEmpty()
                ? null
                : "the replica's table lacks column"
                        + (missing.size() == 1 ? " " : "s ")
                        + String.join(", ", missing);
    }

    private static int number(String option, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new UsageException(
                option + ": '" + v + "' is not a whole number from " + min + " to " + max);
    }

    static Duration duration(String v) {
        Matcher m = DURATION.matcher(v.trim());
        if (!m.matches()) {
            throw new UsageException(
                    "--recheck-wait: '" + v + "' is not a duration (e.g. 500ms, 5s, 1m)");
        }
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
            case "ms":
                return Duration.ofMillis(n);
            case "m":
                return Duration.ofMinutes(n);
            default:
                return Duration.ofSeconds(n);
        }
    }

    /** A bad command line. */
    private static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
