package io.pgdolt.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgdolt.txn.TableId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    private static final Function<String, String> ENV =
            Map.of("PGPASSWORD", "s3cret-primary", "REPLICA_PASSWORD", "s3cret-replica")::get;

    /** A Doltgres server config with its replication stanza, as its users have it. */
    private static final String DOLTGRES_FILE =
            String.join(
                    "\n",
                    "log_level: info",
                    "behavior:",
                    "  read_only: false",
                    "  dolt_transaction_commit: true",
                    "listener:",
                    "  host: 127.0.0.1",
                    "  port: 5433",
                    "data_dir: /var/lib/doltgres",
                    "postgres_replication:",
                    "  postgres_server_address: 127.0.0.1",
                    "  postgres_user: postgres",
                    "  postgres_password: ${PGPASSWORD}",
                    "  postgres_database: shop",
                    "  postgres_port: 5432",
                    "  slot_name: doltgres_slot",
                    "");

    @Test
    void acceptsDoltgresOwnFile() {
        PipelineConfig c =
                ConfigLoader.parse(
                        DOLTGRES_FILE + "replica:\n  password: ${REPLICA_PASSWORD}\n", ENV);
        assertThat(c.primary().host()).isEqualTo("127.0.0.1");
        assertThat(c.primary().port()).isEqualTo(5432);
        assertThat(c.primary().database()).isEqualTo("shop");
        assertThat(c.primary().password().reveal()).isEqualTo("s3cret-primary");
        assertThat(c.primary().publicationName()).isEqualTo("doltgres_slot");
        assertThat(c.primary().tables()).isEmpty();
        // The replica defaults to the Doltgres server the file configures.
        assertThat(c.replica().url()).isEqualTo("jdbc:postgresql://127.0.0.1:5433/postgres");
        assertThat(c.replica().kind()).isEqualTo(PipelineConfig.ReplicaKind.DOLTGRES);
        assertThat(c.replica().doltCommitPerTransaction()).isTrue();
        assertThat(c.pipeline().id()).isEqualTo("doltgres_slot");
        assertThat(c.pipeline().checkpointInterval()).isEqualTo(Duration.ofSeconds(1));
        // Schema following is off unless asked for.
        assertThat(c.replica().createTables()).isFalse();
        assertThat(c.replica().addColumns()).isFalse();
        assertThat(c.replica().typeMapping()).isEmpty();
    }

    @Test
    void readsSchemaPolicy() {
        PipelineConfig c =
                ConfigLoader.parse(
                        DOLTGRES_FILE
                                + "replica:\n  create_tables: true\n  add_columns: yes\n"
                                + "  type_mapping:\n    inet: text\n    _macaddr: TEXT\n",
                        ENV);
        assertThat(c.replica().createTables()).isTrue();
        assertThat(c.replica().addColumns()).isTrue();
        assertThat(c.replica().typeMapping())
                .containsEntry("inet", "text")
                .containsEntry("_macaddr", "text");
    }

    @Test
    void readsOurSectionsAndSecretFiles(@TempDir Path dir) throws Exception {
        Path secret = dir.resolve("pw");
        Files.writeString(secret, "from-file\n");
        String yaml =
                String.join(
                        "\n",
                        "postgres_replication:",
                        "  postgres_server_address: db.local",
                        "  postgres_user: repl",
                        "  postgres_password: ${file:" + secret + "}",
                        "  slot_name: s1",
                        "  publication_name: p1",
                        "  tables: [public.orders, '\"Sales\".\"Line Items\"']",
                        "replica:",
                        "  kind: postgres",
                        "  url: jdbc:postgresql://127.0.0.1:5444/copy",
                        "  user: writer",
                        "  password: ${MISSING:-fallback}",
                        "pipeline:",
                        "  id: shop-main",
                        "  checkpoint_interval: 2s",
                        "  parallelism: 2");
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, yaml);
        PipelineConfig c = ConfigLoader.load(file, ENV);
        assertThat(c.primary().password().reveal()).isEqualTo("from-file");
        assertThat(c.primary().tables())
                .containsExactly(
                        new TableId("public", "orders"), new TableId("Sales", "Line Items"));
        assertThat(c.replica().password().reveal()).isEqualTo("fallback");
        assertThat(c.replica().doltCommitPerTransaction()).isFalse();
        assertThat(c.pipeline().checkpointInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.pipeline().parallelism()).isEqualTo(2);
    }

    @Test
    void neverPrintsPasswords() {
        PipelineConfig c =
                ConfigLoader.parse(
                        DOLTGRES_FILE + "replica:\n  password: ${REPLICA_PASSWORD}\n", ENV);
        assertThat(c.toString()).doesNotContain("s3cret").contains("******");
    }

    @Test
    void errorsNameTheKey() {
        assertError(
                DOLTGRES_FILE.replace("5432", "70000"),
                "postgres_replication.postgres_port",
                "70000");
        assertError(
                DOLTGRES_FILE.replace("doltgres_slot", "Bad-Slot"),
                "postgres_replication.slot_name",
                "Bad-Slot");
        assertError(
                DOLTGRES_FILE.replace("${PGPASSWORD}", "${NOPE}"),
                "postgres_replication.postgres_password",
                "NOPE");
        assertError(DOLTGRES_FILE + "replica:\n  kind: oracle\n", "replica.kind", "oracle");
        assertError(DOLTGRES_FILE + "replica:\n  url: mysql://x\n", "replica.url", "mysql://x");
        assertError(
                DOLTGRES_FILE + "replica:\n  author: nobody\n", "replica.author", "Name <email>");
        assertError(
                DOLTGRES_FILE + "pipeline:\n  checkpoint_interval: soon\n",
                "pipeline.checkpoint_interval",
                "soon");
        assertError(
                DOLTGRES_FILE + "pipeline:\n  parallelism: 0\n", "pipeline.parallelism", "between");
        assertError(DOLTGRES_FILE + "replcia:\n  url: x\n", "replcia", "unknown top-level key");
        assertError(
                DOLTGRES_FILE.replace("  slot_name", "  slot_nmae"),
                "postgres_replication.slot_nmae",
                "unknown key");
        assertError(
                DOLTGRES_FILE.replace("  postgres_user: postgres\n", ""),
                "postgres_replication.postgres_user",
                "missing");
        assertError(
                DOLTGRES_FILE + "replica:\n  kind: postgres\n  url: jdbc:postgresql://h/d\n",
                "behavior.dolt_transaction_commit",
                "doltgres");
        assertError(
                DOLTGRES_FILE + "replica:\n  type_mapping:\n    inet: cidr\n",
                "replica.type_mapping.inet",
                "to text only");
        assertError(
                DOLTGRES_FILE + "replica:\n  type_mapping:\n    \"Inet Type\": text\n",
                "replica.type_mapping",
                "Inet Type");
        assertError(
                DOLTGRES_FILE + "replica:\n  type_mapping:\n    money: text\n",
                "replica.type_mapping: money",
                "cannot be mapped");
        assertError(
                DOLTGRES_FILE + "replica:\n  add_columns: maybe\n", "replica.add_columns", "maybe");
        assertError("just text", "", "mapping");
        assertError("a: [", "", "not valid YAML");
    }

    @Test
    void readsStartup() {
        PipelineConfig dflt = ConfigLoader.parse(DOLTGRES_FILE, ENV);
        assertThat(dflt.startup().mode()).isEqualTo(PipelineConfig.StartupMode.INITIAL);
        assertThat(dflt.startup().snapshotParallelism()).isEqualTo(2);
        assertThat(dflt.startup().snapshotChunkRows()).isEqualTo(100_000);

        assertThat(
                        ConfigLoader.parse(DOLTGRES_FILE + "startup: stream-only\n", ENV)
                                .startup()
                                .mode())
                .isEqualTo(PipelineConfig.StartupMode.STREAM_ONLY);
        PipelineConfig fromLsn =
                ConfigLoader.parse(
                        DOLTGRES_FILE
                                + "startup:\n  mode: from-lsn\n  lsn: 16/B374D848\n"
                                + "  snapshot_parallelism: 4\n",
                        ENV);
        assertThat(fromLsn.startup().mode()).isEqualTo(PipelineConfig.StartupMode.FROM_LSN);
        assertThat(fromLsn.startup().lsn().toString()).isEqualTo("16/B374D848");
        assertThat(fromLsn.startup().snapshotParallelism()).isEqualTo(4);
        assertThat(
                        ConfigLoader.parse(
                                        DOLTGRES_FILE
                                                + "startup:\n"
                                                + "  mode: from-lsn\n"
                                                + "  wal_location_file:"
                                                + " /x/.doltcfg/pg_wal_location\n",
                                        ENV)
                                .startup()
                                .walLocationFile())
                .isEqualTo("/x/.doltcfg/pg_wal_location");

        assertError(DOLTGRES_FILE + "startup: snapshot\n", "startup.mode", "initial, stream-only");
        assertError(DOLTGRES_FILE + "startup:\n  mode: from-lsn\n", "startup", "exactly one");
        assertError(
                DOLTGRES_FILE + "startup:\n  mode: from-lsn\n  lsn: 1/2\n  wal_location_file: f\n",
                "startup",
                "exactly one");
        assertError(
                DOLTGRES_FILE + "startup:\n  mode: from-lsn\n  lsn: 12345\n",
                "startup.lsn",
                "not an LSN");
        assertError(DOLTGRES_FILE + "startup:\n  lsn: 1/2\n", "startup.lsn", "only used with");
        assertError(
                DOLTGRES_FILE + "startup:\n  snapshot_chunk_rows: 10\n",
                "startup.snapshot_chunk_rows",
                "at least 1000");
        assertError(DOLTGRES_FILE + "startup:\n  modes: initial\n", "startup.modes", "unknown");
    }

    @Test
    void readsTls(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("root ca.crt");
        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\n");
        PipelineConfig c =
                ConfigLoader.parse(
                        DOLTGRES_FILE.replace(
                                        "  slot_name: doltgres_slot\n",
                                        "  slot_name: doltgres_slot\n  sslmode: verify-full\n"
                                                + "  sslrootcert: "
                                                + cert
                                                + "\n")
                                + "replica:\n  url: jdbc:postgresql://h:5433/db\n"
                                + "  sslmode: require\n",
                        ENV);
        assertThat(c.primary().jdbcUrl())
                .isEqualTo(
                        "jdbc:postgresql://127.0.0.1:5432/shop?sslmode=verify-full&sslrootcert="
                                + java.net.URLEncoder.encode(
                                        cert.toString(), java.nio.charset.StandardCharsets.UTF_8));
        assertThat(c.replica().url()).isEqualTo("jdbc:postgresql://h:5433/db?sslmode=require");

        assertError(
                DOLTGRES_FILE + "replica:\n  sslmode: maybe\n", "replica.sslmode", "verify-full");
        assertError(
                DOLTGRES_FILE.replace(
                        "  slot_name: doltgres_slot\n",
                        "  slot_name: doltgres_slot\n  sslmode: prefer\n"),
                "postgres_replication.sslmode",
                "replication connection");
        assertError(
                DOLTGRES_FILE + "replica:\n  sslrootcert: /no/such/file.crt\n",
                "replica.sslrootcert",
                "cannot read");
        assertError(
                DOLTGRES_FILE
                        + "replica:\n  url: jdbc:postgresql://h/db?sslmode=disable\n"
                        + "  sslmode: require\n",
                "replica.sslmode",
                "one place");
    }

    /** The primary and replica of a pipeline with replication groups: no slot of its own. */
    private static final String GROUPS_BASE =
            String.join(
                    "\n",
                    "postgres_replication:",
                    "  postgres_server_address: 127.0.0.1",
                    "  postgres_user: postgres",
                    "  postgres_password: ${PGPASSWORD}",
                    "  postgres_database: shop",
                    "replica:",
                    "  url: jdbc:postgresql://127.0.0.1:5433/shop",
                    "  password: ${REPLICA_PASSWORD}",
                    "  sslmode: require",
                    "pipeline:",
                    "  id: shop",
                    "");

    @Test
    void readsReplicationGroups() {
        PipelineConfig c =
                ConfigLoader.parse(
                        GROUPS_BASE
                                + "groups:\n"
                                + "  - name: orders\n"
                                + "    slot_name: pgdolt_orders\n"
                                + "    tables: [public.orders, public.order_lines]\n"
                                + "  - name: stock\n"
                                + "    slot_name: pgdolt_stock\n"
                                + "    publication_name: stock_pub\n"
                                + "    replica_url: jdbc:postgresql://127.0.0.1:5433/stock\n",
                        ENV);
        assertThat(c.groups())
                .extracting(PipelineConfig.Group::name)
                .containsExactly("orders", "stock");
        assertThat(c.primary().slotName()).isNull();
        assertThat(c.streams()).hasSize(2);
        PipelineConfig orders = c.streams().get(0);
        assertThat(orders.groups()).isEmpty();
        assertThat(orders.pipeline().id()).isEqualTo("shop.orders");
        assertThat(orders.primary().slotName()).isEqualTo("pgdolt_orders");
        assertThat(orders.primary().publicationName()).isEqualTo("pgdolt_orders");
        assertThat(orders.primary().tables())
                .containsExactly(
                        TableId.parse("public.orders"), TableId.parse("public.order_lines"));
        assertThat(orders.primary().password().reveal()).isEqualTo("s3cret-primary");
        assertThat(orders.replica().url())
                .isEqualTo("jdbc:postgresql://127.0.0.1:5433/shop?sslmode=require");
        PipelineConfig stock = c.streams().get(1);
        assertThat(stock.pipeline().id()).isEqualTo("shop.stock");
        assertThat(stock.primary().publicationName()).isEqualTo("stock_pub");
        assertThat(stock.primary().tables()).isEmpty();
        // A group's own replica database, with the replica section's TLS settings.
        assertThat(stock.replica().url())
                .isEqualTo("jdbc:postgresql://127.0.0.1:5433/stock?sslmode=require");
        assertThat(stock.replica().password().reveal()).isEqualTo("s3cret-replica");
        // Without groups, the configuration is its own single stream.
        PipelineConfig single =
                ConfigLoader.parse(DOLTGRES_FILE + "replica:\n  password: x\n", ENV);
        assertThat(single.streams()).containsExactly(single);
    }

    @Test
    void groupErrorsNameTheKey() {
        String two =
                "groups:\n"
                        + "  - name: a\n"
                        + "    slot_name: s_a\n"
                        + "  - name: b\n"
                        + "    slot_name: s_b\n";
        assertError(
                GROUPS_BASE.replace(
                                "  postgres_database: shop",
                                "  slot_name: s\n  postgres_database: shop")
                        + two,
                "postgres_replication.slot_name",
                "each group names its own");
        assertError(GROUPS_BASE + "groups: []\n", "groups", "non-empty list");
        assertError(GROUPS_BASE + "groups: {name: a}\n", "groups", "non-empty list");
        assertError(GROUPS_BASE + "groups:\n  - slot_name: s_a\n", "groups[0].name", "missing");
        assertError(
                GROUPS_BASE + "groups:\n  - name: Orders\n    slot_name: s\n",
                "groups[0].name",
                "lower-case");
        assertError(GROUPS_BASE + "groups:\n  - name: a\n", "groups[0].slot_name", "missing key");
        assertError(GROUPS_BASE + two.replace("name: b", "name: a"), "groups[a]", "two groups");
        assertError(
                GROUPS_BASE + two.replace("s_b", "s_a"), "groups[b].slot_name", "another group");
        assertError(
                GROUPS_BASE + two + "    publication_name: s_a\n",
                "groups[b].publication_name",
                "another group");
        assertError(
                GROUPS_BASE + two + "    replica_url: mysql://x\n",
                "groups[b].replica_url",
                "not a jdbc:postgresql:// URL");
        assertError(GROUPS_BASE + two + "    slot: x\n", "groups[1].slot", "unknown key");
        assertError(
                GROUPS_BASE + two + "    tables: public.t\n",
                "groups[b].tables",
                "expected a list");
    }

    private static void assertError(String yaml, String key, String detail) {
        assertThatThrownBy(() -> ConfigLoader.parse(yaml, ENV))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(key)
                .hasMessageContaining(detail);
    }
}
