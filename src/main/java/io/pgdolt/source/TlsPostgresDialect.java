package io.pgdolt.source;

import io.debezium.relational.TableId;
import io.debezium.relational.history.TableChanges.TableChange;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ConcurrentModificationException;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.cdc.connectors.base.config.JdbcSourceConfig;
import org.apache.flink.cdc.connectors.base.relational.connection.JdbcConnectionPoolFactory;
import org.apache.flink.cdc.connectors.base.source.meta.offset.Offset;
import org.apache.flink.cdc.connectors.postgres.source.PostgresConnectionPoolFactory;
import org.apache.flink.cdc.connectors.postgres.source.PostgresDialect;
import org.apache.flink.cdc.connectors.postgres.source.config.PostgresSourceConfig;
import org.apache.flink.util.function.RunnableWithException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink CDC 3.5.0's Postgres dialect with TLS on its pooled connections too: its pool builds the
 * URL from host, port and database only, so {@code database.sslmode}/{@code sslrootcert} reached
 * Debezium's connections but not the pool's (which the enumerator uses to read the slot's position)
 * — those fell back to pgjdbc's {@code prefer}, verifying nothing.
 *
 * <p>It also gives the stream split no table schemas (see {@link
 * #discoverDataCollectionSchemas(JdbcSourceConfig)}), and keeps a race in confirming the slot from
 * failing the job (see {@link #notifyCheckpointComplete(long, Offset)}).
 */
final class TlsPostgresDialect extends PostgresDialect {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TlsPostgresDialect.class);

    /** Attempts at confirming the slot for one completed checkpoint. */
    static final int CONFIRM_ATTEMPTS = 5;

    TlsPostgresDialect(PostgresSourceConfig sourceConfig) {
        super(sourceConfig);
    }

    /**
     * None. Flink CDC puts the schemas it discovers into the stream split, and with a stream-only
     * start it then drops every change of a table whose LSN is below the split's starting offset
     * until that table has had a change at or after it. Transactions interleave: one that commits
     * after the offset can hold changes written before it, and those were dropped (a lost row after
     * a restore, reproduced by ExactlyOnceFailoverITCase). The primary only sends transactions that
     * commit after the start position and Debezium's own resume logic skips what was already read,
     * so that filter has nothing right to do here. Postgres's Debezium schema is read from the
     * database, not from these; leaving them out also keeps them out of every checkpoint.
     */
    @Override
    public Map<TableId, TableChange> discoverDataCollectionSchemas(JdbcSourceConfig sourceConfig) {
        return new HashMap<>();
    }

    /**
     * Confirms the slot up to {@code offset}, as Flink CDC does, but survives its race. Its stream
     * fetch task first reads the live offset of the Debezium reader ({@code
     * PostgresOffsetContext.getOffset}), from this task thread while the reader thread goes on:
     * with transaction metadata on, that walks the reader's per-table event counts, a {@code
     * HashMap} the reader is updating, and can throw {@link ConcurrentModificationException} (which
     * failed the job once in a benchmark run, at a few thousand transactions/s). The value it reads
     * is then replaced by {@code offset}; the throw comes before anything is changed, so the call
     * is repeated. Should every attempt fail, this checkpoint does not confirm the slot and a later
     * one does: the slot only ever stays behind, never ahead.
     */
    @Override
    public void notifyCheckpointComplete(long checkpointId, Offset offset) throws Exception {
        confirmSlot(() -> super.notifyCheckpointComplete(checkpointId, offset), checkpointId);
    }

    /**
     * Runs {@code confirm} until it does not throw {@link ConcurrentModificationException}, at most
     * {@link #CONFIRM_ATTEMPTS} times.
     *
     * @return whether it completed
     */
    static boolean confirmSlot(RunnableWithException confirm, long checkpointId) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                confirm.run();
                return true;
            } catch (ConcurrentModificationException e) {
                if (attempt == CONFIRM_ATTEMPTS) {
                    LOG.warn(
                            "source: checkpoint {} does not confirm the slot (Debezium's offset"
                                    + " changed under each of {} reads); a later checkpoint will",
                            checkpointId,
                            attempt);
                    return false;
                }
            }
        }
    }

    @Override
    public JdbcConnectionPoolFactory getPooledDataSourceFactory() {
        return new TlsPoolFactory();
    }

    /** The connector's pool, with the configured TLS parameters in its URL. */
    static final class TlsPoolFactory extends PostgresConnectionPoolFactory {
        @Override
        public String getJdbcUrl(JdbcSourceConfig sourceConfig) {
            return withTls(super.getJdbcUrl(sourceConfig), sourceConfig.getDbzProperties());
        }
    }

    /**
     * {@code url} with {@code database.sslmode} and {@code database.sslrootcert} of {@code dbz}.
     */
    static String withTls(String url, Properties dbz) {
        StringBuilder sb = new StringBuilder(url);
        for (String key : new String[] {"sslmode", "sslrootcert"}) {
            String value = dbz.getProperty("database." + key);
            if (value != null) {
                sb.append(sb.indexOf("?") < 0 ? '?' : '&')
                        .append(key)
                        .append('=')
                        .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
            }
        }
        return sb.toString();
    }
}
