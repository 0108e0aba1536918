package io.pgdolt.bench;

import io.pgdolt.config.ConfigLoader;
import io.pgdolt.config.PipelineConfig;
import io.pgdolt.job.PipelineBuilder;
import io.pgdolt.testing.Db;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Initial load of the same primary tables into fresh Doltgres databases, in one run: pgdolt's
 * initial snapshot (at parallelism 1 and 2) against {@code pg_dump | psql}, the procedure
 * Doltgres's replication docs give. Each contender's result is checked (row counts per table)
 * before its time counts. Run by {@code bench/snapshot.sh}, which starts the servers.
 *
 * <p>Arguments: {@code --rows N} (total rows over three tables, default 1,000,000), {@code --out
 * FILE} (markdown report).
 */
public final class SnapshotBenchmark {
    private static final String[] TABLES = {"accounts", "events", "\"Sales\".notes"};

    private SnapshotBenchmark() {}

    public static void main(String[] args) throws Exception {
        long rows = 1_000_000;
        Path out = Path.of("bench/results/snapshot.md");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rows")) {
                rows = Long.parseLong(args[++i]);
            } else if (args[i].equals("--out")) {
                out = Path.of(args[++i]);
            } else {
                throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Db primaryServer = server("PRIMARY");
        Db doltgres = server("DOLTGRES");
        String tag = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        String source = "bench_src_" + tag;
        primaryServer.exec("CREATE DATABASE " + source);
        Db primary = primaryServer.withDatabase(source);
        long accounts = rows * 6 / 10;
        long events = rows * 3 / 10;
        long notes = rows - accounts - events;
        log("filling the primary: %d rows (%d, %d, %d)", rows, accounts, events, notes);
        primary.exec(
                "CREATE SCHEMA \"Sales\"",
                "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance numeric(14,2),"
                        + " updated timestamptz)",
                "CREATE TABLE events (id bigint PRIMARY KEY, kind varchar(10), payload jsonb,"
                        + " at timestamp, xid bigint)",
                "CREATE TABLE \"Sales\".notes (k text, n int, body text, PRIMARY KEY (k, n))",
                "INSERT INTO accounts SELECT g, 'owner ' || g || E' \\'q\\' \\t',"
                        + " (g * 1.5)::numeric(14,2), timestamptz '2026-01-01 00:00:00+00'"
                        + " + g * interval '1 second' FROM generate_series(1, "
                        + accounts
                        + ") g",
                "INSERT INTO events SELECT g, 'load', jsonb_build_object('g', g, 's', 'é😀'),"
                        + " timestamp '2026-01-01' + g * interval '1 ms', NULL"
                        + " FROM generate_series(1, "
                        + events
                        + ") g",
                "INSERT INTO \"Sales\".notes SELECT 'key-' || (g % 1000), g / 1000,"
                        + " CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('x', g % 50) END"
                        + " FROM generate_series(0, "
                        + (notes - 1)
                        + ") g",
                "ANALYZE",
                "CREATE PUBLICATION bench FOR TABLE accounts, events, \"Sales\".notes");
        Map<String, Long> expected = counts(primary);

        Map<String, Double> seconds = new LinkedHashMap<>();
        Map<String, String> failures = new LinkedHashMap<>();
        String dump = "pg_dump | psql (Doltgres's documented procedure)";
        run(
                dump,
                seconds,
                failures,
                () -> pgDumpPsql(primary, fresh(doltgres, "dump_" + tag), false, expected));
        // The same dump with the keys created before the rows are loaded: Doltgres loads a table
        // with a primary key many times faster, so this is the best a dump does.
        String keysFirst = "pg_dump | psql, keys first (--section pre-data, post-data, data)";
        run(
                keysFirst,
                seconds,
                failures,
                () -> pgDumpPsql(primary, fresh(doltgres, "dumpk_" + tag), true, expected));
        for (int p : new int[] {1, 2}) {
            String name = "pgdolt initial snapshot, snapshot_parallelism " + p;
            String db = "snap" + p + "_" + tag;
            run(
                    name,
                    seconds,
                    failures,
                    () -> pgdolt(primary, fresh(doltgres, db), p, db, expected));
        }

        StringBuilder md = new StringBuilder();
        md.append("# Initial load into Doltgres: pgdolt snapshot vs pg_dump | psql\n\n");
        md.append("Generated by `bench/snapshot.sh` on ")
                .append(java.time.LocalDate.now())
                .append(": ")
                .append(rows)
                .append(" rows in 3 tables (")
                .append(accounts)
                .append(" / ")
                .append(events)
                .append(" / ")
                .append(notes)
                .append(
                        "), loaded into a fresh Doltgres database by each contender in the same"
                                + " run. Machine: ")
                .append(Runtime.getRuntime().availableProcessors())
                .append(" cores, ")
                .append(machineMemory())
                .append("; ")
                .append(doltgres.value("SELECT version()"))
                .append(" (Doltgres) and ")
                .append(primary.value("SHOW server_version"))
                .append(" (primary).\n\n");
        md.append(
                "| contender | seconds | rows/s | vs pg_dump \\| psql | vs keys-first dump |\n"
                        + "|---|---:|---:|---:|---:|\n");
        Double base = seconds.get(dump);
        Double base2 = seconds.get(keysFirst);
        for (Map.Entry<String, Double> e : seconds.entrySet()) {
            md.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %.1f | %,.0f | %s | %s |%n",
                            e.getKey().replace("|", "\\|"),
                            e.getValue(),
                            rows / e.getValue(),
                            ratio(base, e.getValue()),
                            ratio(base2, e.getValue())));
        }
        for (Map.Entry<String, String> e : failures.entrySet()) {
            md.append("| ")
                    .append(e.getKey().replace("|", "\\|"))
                    .append(" | FAILED: ")
                    .append(e.getValue())
                    .append(" | | | |\n");
        }
        md.append(
                "\nEach time runs from the first statement to the last row committed and is counted"
                        + " only if every table then holds the primary's row count. pgdolt's time"
                        + " includes its start-up checks, creating the tables"
                        + " (`replica.create_tables`), exporting the snapshot and recording it as"
                        + " one Dolt commit; pg_dump's includes creating the tables and keys,"
                        + " which a plain dump adds after the data and the keys-first variant"
                        + " before it.\n");
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
        System.out.print(md);
        log("wrote %s", out);
        primary.exec("DROP PUBLICATION bench");
    }

    private static String ratio(Double baseline, double seconds) {
        return baseline == null ? "n/a" : String.format(Locale.ROOT, "%.2f×", baseline / seconds);
    }

    private interface Contender {
        void run() throws Exception;
    }

    private static void run(
            String name, Map<String, Double> seconds, Map<String, String> failures, Contender c) {
        log("running: %s", name);
        long t0 = System.nanoTime();
        try {
            c.run();
            double s = (System.nanoTime() - t0) / 1e9;
            seconds.put(name, s);
            log("%s: %.1f s", name, s);
        } catch (Exception | AssertionError e) {
            failures.put(name, String.valueOf(e.getMessage()).split("\n")[0]);
            log("%s FAILED: %s", name, e);
        }
    }

    private static Db fresh(Db server, String name) throws Exception {
        server.exec("CREATE DATABASE " + name);
        return server.withDatabase(name);
    }

    private static void pgDumpPsql(
            Db primary, Db replica, boolean keysFirst, Map<String, Long> expected)
            throws Exception {
        String bindir =
                System.getenv().getOrDefault("PGDOLT_PG_BINDIR", "/usr/lib/postgresql/15/bin");
        String dumpCommand =
                String.format(
                        "PGPASSWORD=\"$SRC_PW\" %s/pg_dump --no-owner --no-privileges"
                                + " --no-publications --no-subscriptions --no-comments"
                                + " --no-tablespaces -h %s -p %d -U %s",
                        bindir, primary.host(), primary.port(), primary.user());
        String dumps =
                keysFirst
                        ? String.format(
                                "{ %1$s --section=pre-data %2$s && %1$s --section=post-data %2$s"
                                        + " && %1$s --section=data %2$s; }",
                                dumpCommand, primary.database())
                        : dumpCommand + " " + primary.database();
        String cmd =
                String.format(
                        "set -o pipefail; %s | PGPASSWORD=\"$DST_PW\" %s/psql -q -v"
                                + " ON_ERROR_STOP=1 -h %s -p %d -U %s -d %s",
                        dumps,
                        bindir,
                        replica.host(),
                        replica.port(),
                        replica.user(),
                        replica.database());
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", cmd);
        pb.environment().put("SRC_PW", primary.password());
        pb.environment().put("DST_PW", replica.password());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("pg_dump | psql failed: " + output);
        }
        check(replica, expected);
    }

    private static void pgdolt(
            Db primary, Db replica, int parallelism, String slot, Map<String, Long> expected)
            throws Exception {
        primary.exec("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
        try {
            String yaml =
                    String.join(
                            "\n",
                            "postgres_replication:",
                            "  postgres_server_address: " + primary.host(),
                            "  postgres_port: " + primary.port(),
                            "  postgres_user: " + primary.user(),
                            "  postgres_password: ${SRC_PW}",
                            "  postgres_database: " + primary.database(),
                            "  slot_name: " + slot,
                            "  publication_name: bench",
                            "replica:",
                            "  url: " + replica.url(),
                            "  user: " + replica.user(),
                            "  password: ${DST_PW}",
                            "  create_tables: true",
                            "startup:",
                            "  mode: initial",
                            "  snapshot_parallelism: " + parallelism);
            PipelineConfig config =
                    ConfigLoader.parse(
                            yaml,
                            Map.of("SRC_PW", primary.password(), "DST_PW", replica.password())
                                    ::get);
            // Builds the job graph (not run): the snapshot is loaded and recorded on the way.
            PipelineBuilder.build(
                    StreamExecutionEnvironment.getExecutionEnvironment(), config, false);
            check(replica, expected);
        } finally {
            primary.exec("SELECT pg_drop_replication_slot('" + slot + "')");
        }
    }

    private static Map<String, Long> counts(Db db) throws Exception {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String t : TABLES) {
            out.put(t, Long.parseLong(db.value("SELECT count(*) FROM " + t)));
        }
        return out;
    }

    private static void check(Db replica, Map<String, Long> expected) throws Exception {
        Map<String, Long> got = counts(replica);
        if (!got.equals(expected)) {
            throw new AssertionError("row counts " + got + ", expected " + expected);
        }
    }

    private static Db server(String which) {
        String p = "PGDOLT_" + which + "_";
        String host = System.getenv(p + "HOST");
        if (host == null) {
            throw new IllegalStateException(p + "HOST is not set: run bench/snapshot.sh");
        }
        return new Db(
                host,
                Integer.parseInt(System.getenv(p + "PORT")),
                "postgres",
                System.getenv(p + "USER"),
                System.getenv(p + "PASSWORD"));
    }

    private static String machineMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("\\D", ""));
                    return String.format(Locale.ROOT, "%.0f GiB RAM", kb / 1024.0 / 1024.0);
                }
            }
        } catch (IOException | NumberFormatException ignored) {
            // Reported as unknown.
        }
        return "unknown RAM";
    }

    private static void log(String format, Object... args) {
        System.err.printf(Locale.ROOT, "bench: " + format + "%n", args);
    }
}
