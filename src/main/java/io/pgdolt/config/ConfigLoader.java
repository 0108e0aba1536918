package io.pgdolt.config;

import io.pgdolt.config.PipelineConfig.Pipeline;
import io.pgdolt.config.PipelineConfig.Primary;
import io.pgdolt.config.PipelineConfig.Replica;
import io.pgdolt.config.PipelineConfig.ReplicaKind;
import io.pgdolt.txn.TableId;
import io.pgdolt.txn.TransactionAssembler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads the job's YAML file: Doltgres's own {@code postgres_replication} and {@code behavior}
 * stanzas (so a user of Doltgres's replicator can bring the file they have), plus our {@code
 * replica} and {@code pipeline} sections.
 *
 * <p>{@code ${NAME}} and {@code ${NAME:-default}} in any value are replaced from the environment,
 * {@code ${file:/path}} by the file's content (trailing newline dropped), so secrets need not be
 * written in the file. Every value is checked here, at start-up; an error names the key and says
 * what is wrong.
 */
public final class ConfigLoader {

    /** Top-level keys of a Doltgres server config: accepted, and ignored by the job. */
    private static final Set<String> DOLTGRES_SERVER_KEYS =
            Set.of(
                    "log_level",
                    "log_format",
                    "max_logged_query_len",
                    "encode_logged_query",
                    "user",
                    "listener",
                    "data_dir",
                    "cfg_dir",
                    "privilege_file",
                    "branch_control_file",
                    "remotesapi",
                    "system_variables",
                    "user_session_vars",
                    "jwks",
                    "metrics",
                    "cluster",
                    "performance",
                    "mcp_server",
                    "auto_gc_behavior");

    private static final Set<String> TOP_KEYS =
            Set.of("postgres_replication", "behavior", "replica", "pipeline", "startup", "groups");
    private static final Set<String> GROUP_KEYS =
            Set.of("name", "slot_name", "publication_name", "tables", "replica_url");
    private static final Pattern GROUP_NAME = Pattern.compile("[a-z0-9_]{1,40}");
    private static final Set<String> PRIMARY_KEYS =
            Set.of(
                    "postgres_server_address",
                    "postgres_port",
                    "postgres_user",
                    "postgres_password",
                    "postgres_database",
                    "slot_name",
                    "publication_name",
                    "tables",
                    "heartbeat_interval",
                    "sslmode",
                    "sslrootcert");

    /** Doltgres's behavior keys: only dolt_transaction_commit matters to the job. */
    private static final Set<String> BEHAVIOR_KEYS =
            Set.of(
                    "read_only",
                    "autocommit",
                    "persistence_behavior",
                    "disable_client_multi_statements",
                    "dolt_transaction_commit",
                    "event_scheduler",
                    "auto_gc_behavior");

    private static PipelineConfig.CommitGranularity commitGranularity(String text) {
        switch (text) {
            case "transaction":
                return PipelineConfig.CommitGranularity.TRANSACTION;
            case "checkpoint":
                return PipelineConfig.CommitGranularity.CHECKPOINT;
            default:
                throw new ConfigException(
                        "replica.commit_granularity: '"
                                + text
                                + "' is not one of transaction, checkpoint");
        }
    }

    private static final Set<String> REPLICA_KEYS =
            Set.of(
                    "kind",
                    "url",
                    "user",
                    "password",
                    "author",
                    "create_tables",
                    "add_columns",
                    "type_mapping",
                    "sslmode",
                    "sslrootcert",
                    "commit_granularity");
    private static final Set<String> PIPELINE_KEYS =
            Set.of(
                    "id",
                    "checkpoint_interval",
                    "parallelism",
                    "slot_confirm_delay_checkpoints",
                    "checkpoint_dir",
                    "transaction_chunk_rows");

    private static final Set<String> STARTUP_KEYS =
            Set.of(
                    "mode",
                    "lsn",
                    "wal_location_file",
                    "snapshot_parallelism",
                    "snapshot_chunk_rows");

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");
    private static final Pattern SLOT_NAME = Pattern.compile("[a-z0-9_]{1,63}");
    private static final Pattern PIPELINE_ID = Pattern.compile("[A-Za-z0-9_.-]{1,100}");

    /**
     * Types whose values reach pgdolt as the primary's own text output (Debezium passes them as
     * strings, or as unknown types' text), so that a text column holds them exactly. Not money (a
     * double) or point (a struct).
     */
    private static final Set<String> MAPPABLE_TYPES =
            Set.of(
                    "inet",
                    "cidr",
                    "macaddr",
                    "macaddr8",
                    "int4range",
                    "int8range",
                    "numrange",
                    "daterange",
                    "tsrange",
                    "tstzrange",
                    "tsvector",
                    "tsquery",
                    "xml");

    private static final Pattern TYPE_NAME = Pattern.compile("_?[a-z][a-z0-9_]{0,62}");
    private static final Pattern AUTHOR = Pattern.compile("[^<>]+ <[^<>]+>");
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");

    private final Function<String, String> env;

    private ConfigLoader(Function<String, String> env) {
        this.env = env;
    }

    /** Loads and validates the file, substituting from the process environment. */
    public static PipelineConfig load(Path file) {
        return load(file, System::getenv);
    }

    /** Loads and validates the file, substituting from {@code env}. */
    public static PipelineConfig load(Path file, Function<String, String> env) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e, e);
        }
        return parse(text, env);
    }

    /** Parses and validates YAML text. */
    public static PipelineConfig parse(String yamlText, Function<String, String> env) {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
        } catch (org.yaml.snakeyaml.error.MarkedYAMLException e) {
            // Only the position and the problem: the parser's snippet could quote a password.
            org.yaml.snakeyaml.error.Mark mark = e.getProblemMark();
            throw new ConfigException(
                    "config file is not valid YAML: "
                            + e.getProblem()
                            + (mark == null
                                    ? ""
                                    : " at line "
                                            + (mark.getLine() + 1)
                                            + ", column "
                                            + (mark.getColumn() + 1)));
        } catch (YAMLException e) {
            throw new ConfigException("config file is not valid YAML");
        }
        if (!(root instanceof Map)) {
            throw new ConfigException("config file must be a YAML mapping of sections");
        }
        ConfigLoader loader = new ConfigLoader(env);
        return loader.build(loader.new Section("", asMap(root, "")));
    }

    private PipelineConfig build(Section root) {
        for (String key : root.values.keySet()) {
            if (!TOP_KEYS.contains(key) && !DOLTGRES_SERVER_KEYS.contains(key)) {
                throw new ConfigException(
                        "unknown top-level key '"
                                + key
                                + "' (expected postgres_replication, behavior, replica, pipeline,"
                                + " startup, groups or a Doltgres server key)");
            }
        }
        Section pr = root.section("postgres_replication", true);
        pr.checkKeys(PRIMARY_KEYS);
        Section behavior = root.section("behavior", false);
        behavior.checkKeys(BEHAVIOR_KEYS);
        Section rep = root.section("replica", false);
        rep.checkKeys(REPLICA_KEYS);
        Section pipe = root.section("pipeline", false);
        pipe.checkKeys(PIPELINE_KEYS);
        Section start =
                root.values.get("startup") instanceof Map || root.values.get("startup") == null
                        ? root.section("startup", false)
                        // "startup: initial" is short for "startup: {mode: initial}".
                        : new Section("startup", Map.of("mode", root.values.get("startup")));
        start.checkKeys(STARTUP_KEYS);

        List<PipelineConfig.Group> groups = groups(root.values.get("groups"), rep);
        String slot;
        List<TableId> tables;
        if (groups.isEmpty()) {
            slot = slotName(pr.required("slot_name"), "postgres_replication.slot_name");
            tables = tables(pr.values.get("tables"), "postgres_replication.tables");
        } else {
            for (String k : List.of("slot_name", "publication_name", "tables")) {
                if (pr.values.containsKey(k)) {
                    throw new ConfigException(
                            "postgres_replication."
                                    + k
                                    + ": not used when groups are configured; each group names"
                                    + " its own (groups[].slot_name, publication_name, tables)");
                }
            }
            slot = null;
            tables = List.of();
        }
        Primary primary =
                new Primary(
                        pr.required("postgres_server_address"),
                        pr.port("postgres_port", 5432),
                        pr.required("postgres_user"),
                        new Secret(pr.secret("postgres_password", "")),
                        pr.string("postgres_database", "postgres"),
                        slot,
                        slot == null ? null : pr.string("publication_name", slot),
                        tables,
                        heartbeat(pr.duration("heartbeat_interval", Duration.ofSeconds(10))),
                        primarySslMode(pr.string("sslmode", null)),
                        rootCert(
                                pr.string("sslrootcert", null), "postgres_replication.sslrootcert"),
                        "postgres_replication");

        ReplicaKind kind;
        String kindText = rep.string("kind", "doltgres").toLowerCase(Locale.ROOT);
        switch (kindText) {
            case "doltgres":
                kind = ReplicaKind.DOLTGRES;
                break;
            case "postgres":
            case "postgresql":
                kind = ReplicaKind.POSTGRES;
                break;
            default:
                throw new ConfigException(
                        "replica.kind: '" + kindText + "' is not one of doltgres, postgres");
        }
        boolean doltCommit;
        if (kind == ReplicaKind.DOLTGRES) {
            doltCommit = behavior.bool("dolt_transaction_commit", true);
        } else {
            if (behavior.bool("dolt_transaction_commit", false)) {
                throw new ConfigException(
                        "behavior.dolt_transaction_commit: true needs replica.kind doltgres (a"
                                + " PostgreSQL replica has no Dolt commits)");
            }
            doltCommit = false;
        }
        Section listener = root.section("listener", false);
        Section user = root.section("user", false);
        String defaultUrl = null;
        if (listener.values.containsKey("port")) {
            // A Doltgres server config: the replica is that server.
            defaultUrl =
                    "jdbc:postgresql://"
                            + listener.string("host", "127.0.0.1")
                            + ":"
                            + listener.port("port", 5432)
                            + "/postgres";
        }
        String url = rep.string("url", defaultUrl);
        if (url == null) {
            throw new ConfigException(
                    "replica.url: missing (a JDBC URL such as"
                            + " jdbc:postgresql://127.0.0.1:5433/postgres)");
        }
        if (!url.startsWith("jdbc:postgresql://")) {
            throw new ConfigException("replica.url: '" + url + "' is not a jdbc:postgresql:// URL");
        }
        url = withTls(url, rep);
        String author = rep.string("author", "pgdolt <pgdolt@localhost>");
        if (!AUTHOR.matcher(author).matches()) {
            throw new ConfigException(
                    "replica.author: '" + author + "' is not of the form 'Name <email>'");
        }
        Replica replica =
                new Replica(
                        kind,
                        url,
                        rep.string("user", user.string("name", "postgres")),
                        new Secret(rep.secret("password", user.secret("password", ""))),
                        doltCommit,
                        author,
                        rep.bool("create_tables", false),
                        rep.bool("add_columns", false),
                        typeMapping(rep.section("type_mapping", false)),
                        commitGranularity(rep.string("commit_granularity", "transaction")));

        String id = pipe.string("id", slot == null ? "pgdolt" : slot);
        if (!PIPELINE_ID.matcher(id).matches()) {
            throw new ConfigException(
                    "pipeline.id: '" + id + "' may hold only letters, digits, '_', '.' and '-'");
        }
        Duration interval = pipe.duration("checkpoint_interval", Duration.ofSeconds(1));
        if (interval.toMillis() < 100) {
            throw new ConfigException("pipeline.checkpoint_interval: must be at least 100ms");
        }
        int parallelism = pipe.integer("parallelism", 1);
        if (parallelism < 1 || parallelism > 128) {
            throw new ConfigException("pipeline.parallelism: must be between 1 and 128");
        }
        int delay = pipe.integer("slot_confirm_delay_checkpoints", 3);
        if (delay < 0 || delay > 100) {
            throw new ConfigException(
                    "pipeline.slot_confirm_delay_checkpoints: must be between 0 and 100");
        }
        int chunkRows =
                pipe.integer("transaction_chunk_rows", TransactionAssembler.DEFAULT_CHUNK_ROWS);
        if (chunkRows < 100 || chunkRows > 1_000_000) {
            throw new ConfigException(
                    "pipeline.transaction_chunk_rows: must be between 100 and 1000000");
        }
        Pipeline pipeline =
                new Pipeline(
                        id,
                        interval,
                        parallelism,
                        delay,
                        pipe.string("checkpoint_dir", null),
                        chunkRows);
        return new PipelineConfig(primary, replica, pipeline, startup(start), groups);
    }

    private static String slotName(String slot, String key) {
        if (!SLOT_NAME.matcher(slot).matches()) {
            throw new ConfigException(
                    key
                            + ": '"
                            + slot
                            + "' is not a valid replication slot name (lower-case letters, digits"
                            + " and _, at most 63)");
        }
        return slot;
    }

    private List<TableId> tables(Object raw, String key) {
        List<TableId> tables = new ArrayList<>();
        if (raw == null) {
            return tables;
        }
        if (!(raw instanceof List)) {
            throw new ConfigException(key + ": expected a list of schema.table names");
        }
        for (Object t : (List<?>) raw) {
            try {
                tables.add(TableId.parse(substitute(String.valueOf(t), key)));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key + ": " + e.getMessage(), e);
            }
        }
        return tables;
    }

    /**
     * {@code groups}: a list of replication groups, each with a unique name, slot and publication.
     * Whether their tables are disjoint is checked against the publications at start-up.
     */
    private List<PipelineConfig.Group> groups(Object raw, Section rep) {
        if (raw == null) {
            return List.of();
        }
        if (!(raw instanceof List) || ((List<?>) raw).isEmpty()) {
            throw new ConfigException(
                    "groups: expected a non-empty list of groups (each with name and slot_name)");
        }
        List<PipelineConfig.Group> groups = new ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        Set<String> slots = new java.util.HashSet<>();
        Set<String> publications = new java.util.HashSet<>();
        int i = 0;
        for (Object o : (List<?>) raw) {
            Section g = new Section("groups[" + i + "]", asMap(o, "groups[" + i + "]"));
            g.checkKeys(GROUP_KEYS);
            String name = g.required("name");
            if (!GROUP_NAME.matcher(name).matches()) {
                throw new ConfigException(
                        "groups["
                                + i
                                + "].name: '"
                                + name
                                + "' may hold only lower-case letters, digits and _ (at most 40)");
            }
            String where = "groups[" + name + "]";
            if (!names.add(name)) {
                throw new ConfigException(where + ": two groups are named '" + name + "'");
            }
            String slot = slotName(g.required("slot_name"), where + ".slot_name");
            if (!slots.add(slot)) {
                throw new ConfigException(
                        where + ".slot_name: slot '" + slot + "' belongs to another group too");
            }
            String publication = g.string("publication_name", slot);
            if (!publications.add(publication)) {
                throw new ConfigException(
                        where
                                + ".publication_name: publication '"
                                + publication
                                + "' belongs to another group too");
            }
            String url = g.string("replica_url", null);
            if (url != null && !url.startsWith("jdbc:postgresql://")) {
                throw new ConfigException(
                        where
                                + ".replica_url: '"
                                + redactUrl(url)
                                + "' is not a jdbc:postgresql:// URL");
            }
            groups.add(
                    new PipelineConfig.Group(
                            name,
                            slot,
                            publication,
                            tables(g.values.get("tables"), where + ".tables"),
                            // The replica section's TLS settings apply to every group's URL.
                            url == null ? null : withTls(url, rep)));
            i++;
        }
        return groups;
    }

    private static PipelineConfig.Startup startup(Section s) {
        String modeText = s.string("mode", "initial").toLowerCase(Locale.ROOT);
        PipelineConfig.StartupMode mode;
        switch (modeText) {
            case "initial":
                mode = PipelineConfig.StartupMode.INITIAL;
                break;
            case "stream-only":
                mode = PipelineConfig.StartupMode.STREAM_ONLY;
                break;
            case "from-lsn":
                mode = PipelineConfig.StartupMode.FROM_LSN;
                break;
            default:
                throw new ConfigException(
                        "startup.mode: '"
                                + modeText
                                + "' is not one of initial, stream-only, from-lsn");
        }
        String lsnText = s.string("lsn", null);
        String file = s.string("wal_location_file", null);
        io.pgdolt.txn.Lsn lsn = null;
        if (mode == PipelineConfig.StartupMode.FROM_LSN) {
            if ((lsnText == null) == (file == null)) {
                throw new ConfigException(
                        "startup: mode from-lsn needs exactly one of startup.lsn (e.g. 0/16B3748)"
                                + " and startup.wal_location_file (Doltgres's"
                                + " .doltcfg/pg_wal_location)");
            }
            if (lsnText != null) {
                lsn = parseLsn(lsnText, "startup.lsn");
            }
        } else if (lsnText != null || file != null) {
            throw new ConfigException(
                    "startup."
                            + (lsnText != null ? "lsn" : "wal_location_file")
                            + ": only used with startup.mode from-lsn (mode is "
                            + modeText
                            + ")");
        }
        int parallelism = s.integer("snapshot_parallelism", 2);
        if (parallelism < 1 || parallelism > 64) {
            throw new ConfigException("startup.snapshot_parallelism: must be between 1 and 64");
        }
        int chunkRows = s.integer("snapshot_chunk_rows", 100_000);
        if (chunkRows < 1000) {
            throw new ConfigException("startup.snapshot_chunk_rows: must be at least 1000");
        }
        return new PipelineConfig.Startup(mode, lsn, file, parallelism, chunkRows);
    }

    /** Parses an LSN written by a user or a file; the error names where it came from. */
    public static io.pgdolt.txn.Lsn parseLsn(String text, String where) {
        try {
            io.pgdolt.txn.Lsn lsn = io.pgdolt.txn.Lsn.parse(text.trim());
            if (lsn.isZero()) {
                throw new ConfigException(where + ": 0/0 is not a WAL position");
            }
            return lsn;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@code replica.type_mapping}: primary type name to {@code text}. Only text is offered: the
     * values of such types arrive as the primary's text output, which text holds unchanged.
     */
    private static Map<String, String> typeMapping(Section section) {
        Map<String, String> mapping = new LinkedHashMap<>();
        for (String type : section.values.keySet()) {
            if (!TYPE_NAME.matcher(type).matches()) {
                throw new ConfigException(
                        "replica.type_mapping: '"
                                + type
                                + "' is not a type name as the primary's catalog spells it"
                                + " (e.g. inet, macaddr, int4range, tsvector)");
            }
            String element = type.startsWith("_") ? type.substring(1) : type;
            if (!MAPPABLE_TYPES.contains(element)) {
                throw new ConfigException(
                        "replica.type_mapping: "
                                + type
                                + " cannot be mapped: its values do not arrive from the connector"
                                + " as the primary's text (mappable: "
                                + String.join(", ", new java.util.TreeSet<>(MAPPABLE_TYPES))
                                + ")");
            }
            String target = section.string(type, null).toLowerCase(Locale.ROOT);
            if (!"text".equals(target)) {
                throw new ConfigException(
                        "replica.type_mapping."
                                + type
                                + ": '"
                                + target
                                + "' is not supported; a type the replica lacks can be mapped"
                                + " to text only");
            }
            mapping.put(type, target);
        }
        return mapping;
    }

    private static final Set<String> SSL_MODES =
            Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

    /** The modes the connector's replication connection (Debezium 1.9) supports. */
    private static final Set<String> PRIMARY_SSL_MODES =
            Set.of("disable", "require", "verify-ca", "verify-full");

    private static String primarySslMode(String mode) {
        if (mode != null && SSL_MODES.contains(mode) && !PRIMARY_SSL_MODES.contains(mode)) {
            throw new ConfigException(
                    "postgres_replication.sslmode: '"
                            + mode
                            + "' is not supported for the primary (the replication connection"
                            + " takes disable, require, verify-ca or verify-full)");
        }
        return sslMode(mode, "postgres_replication.sslmode");
    }

    private static String sslMode(String mode, String key) {
        if (mode != null && !SSL_MODES.contains(mode)) {
            throw new ConfigException(
                    key
                            + ": '"
                            + mode
                            + "' is not one of disable, allow, prefer, require, verify-ca,"
                            + " verify-full");
        }
        return mode;
    }

    private static String rootCert(String path, String key) {
        if (path != null && !Files.isReadable(Path.of(path))) {
            throw new ConfigException(key + ": cannot read the root certificate " + path);
        }
        return path;
    }

    /** {@code replica.sslmode} and {@code sslrootcert} become parameters of the replica's URL. */
    private static String withTls(String url, Section rep) {
        String mode = sslMode(rep.string("sslmode", null), "replica.sslmode");
        String cert = rootCert(rep.string("sslrootcert", null), "replica.sslrootcert");
        StringBuilder sb = new StringBuilder(url);
        for (String[] kv : new String[][] {{"sslmode", mode}, {"sslrootcert", cert}}) {
            if (kv[1] == null) {
                continue;
            }
            if (url.contains("?" + kv[0] + "=") || url.contains("&" + kv[0] + "=")) {
                throw new ConfigException(
                        "replica."
                                + kv[0]
                                + ": also given in replica.url; set it in one place only");
            }
            sb.append(sb.indexOf("?") < 0 ? '?' : '&')
                    .append(kv[0])
                    .append('=')
                    .append(java.net.URLEncoder.encode(kv[1], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    private static Duration heartbeat(Duration d) {
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new ConfigException(
                    "postgres_replication.heartbeat_interval: must be at least 1s");
        }
        return d;
    }

    /** A JDBC URL fit for a message: a password given as a URL parameter is masked. */
    public static String redactUrl(String url) {
        return url == null ? null : url.replaceAll("(?i)(password=)[^&;]*", "$1******");
    }

    private String substitute(String value, String key) {
        Matcher m = PLACEHOLDER.matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String expr = m.group(1);
            String replacement;
            if (expr.startsWith("file:")) {
                Path path = Path.of(expr.substring(5));
                try {
                    replacement = Files.readString(path, StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new ConfigException(
                            key + ": cannot read secret file " + path + ": " + e.getMessage(), e);
                }
                if (replacement.endsWith("\n")) {
                    replacement = replacement.substring(0, replacement.length() - 1);
                }
            } else {
                int dflt = expr.indexOf(":-");
                String name = dflt >= 0 ? expr.substring(0, dflt) : expr;
                String fromEnv = env.apply(name);
                if (fromEnv == null && dflt < 0) {
                    throw new ConfigException(
                            key + ": environment variable " + name + " is not set");
                }
                replacement = fromEnv != null ? fromEnv : expr.substring(dflt + 2);
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o, String path) {
        if (o == null) {
            return new LinkedHashMap<>();
        }
        if (!(o instanceof Map)) {
            throw new ConfigException(path + ": expected a mapping of keys");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
            m.put(String.valueOf(e.getKey()), e.getValue());
        }
        return m;
    }

    /** One mapping of the file, with typed, path-naming accessors. */
    private final class Section {
        private final String path;
        private final Map<String, Object> values;

        Section(String path, Map<String, Object> values) {
            this.path = path;
            this.values = values;
        }

        Section section(String key, boolean required) {
            Object v = values.get(key);
            if (v == null && required) {
                throw new ConfigException("missing section '" + key + "'");
            }
            return new Section(key, asMap(v, key));
        }

        void checkKeys(Set<String> known) {
            for (String k : values.keySet()) {
                if (!known.contains(k)) {
                    throw new ConfigException(
                            "unknown key '"
                                    + path
                                    + "."
                                    + k
                                    + "' (known keys: "
                                    + String.join(", ", new java.util.TreeSet<>(known))
                                    + ")");
                }
            }
        }

        private String key(String k) {
            return path + "." + k;
        }

        /** A secret: substituted like any value, never trimmed (spaces may be part of it). */
        String secret(String k, String dflt) {
            Object v = values.get(k);
            if (v == null) {
                return dflt;
            }
            if (v instanceof Map || v instanceof List) {
                throw new ConfigException(key(k) + ": expected a single value");
            }
            return substitute(String.valueOf(v), key(k));
        }

        String required(String k) {
            String s = string(k, null);
            if (s == null) {
                throw new ConfigException("missing key '" + key(k) + "'");
            }
            return s;
        }

        String string(String k, String dflt) {
            String raw = secret(k, null);
            if (raw == null) {
                return dflt;
            }
            String s = raw.trim();
            if (s.isEmpty() && dflt == null) {
                throw new ConfigException(key(k) + ": must not be empty");
            }
            return s;
        }

        int integer(String k, int dflt) {
            String s = string(k, String.valueOf(dflt));
            try {
                return Integer.parseInt(s);
            } catch (NumberFormatException e) {
                throw new ConfigException(key(k) + ": '" + s + "' is not a whole number", e);
            }
        }

        int port(String k, int dflt) {
            int p = integer(k, dflt);
            if (p < 1 || p > 65535) {
                throw new ConfigException(key(k) + ": " + p + " is not a TCP port (1-65535)");
            }
            return p;
        }

        boolean bool(String k, boolean dflt) {
            String s = string(k, String.valueOf(dflt)).toLowerCase(Locale.ROOT);
            switch (s) {
                case "true":
                case "yes":
                case "on":
                    return true;
                case "false":
                case "no":
                case "off":
                    return false;
                default:
                    throw new ConfigException(key(k) + ": '" + s + "' is not true or false");
            }
        }

        Duration duration(String k, Duration dflt) {
            String s = string(k, dflt.toMillis() + "ms");
            Matcher m = DURATION.matcher(s);
            if (!m.matches()) {
                throw new ConfigException(
                        key(k) + ": '" + s + "' is not a duration (e.g. 500ms, 2s, 1m)");
            }
            long n;
            try {
                n = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                throw new ConfigException(key(k) + ": '" + s + "' is too large", e);
            }
            if (n > 1_000_000_000L) {
                throw new ConfigException(key(k) + ": '" + s + "' is too large");
            }
            String unit = m.group(2) == null ? "ms" : m.group(2);
            switch (unit) {
                case "s":
                    return Duration.ofSeconds(n);
                case "m":
                    return Duration.ofMinutes(n);
                case "h":
                    return Duration.ofHours(n);
                default:
                    return Duration.ofMillis(n);
            }
        }
    }
}
