package io.pgdolt.source;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.flink.cdc.connectors.base.config.JdbcSourceConfig;
import org.apache.flink.cdc.connectors.base.relational.connection.JdbcConnectionPoolFactory;
import org.apache.flink.cdc.connectors.postgres.source.PostgresConnectionPoolFactory;
import org.apache.flink.cdc.connectors.postgres.source.PostgresDialect;
import org.apache.flink.cdc.connectors.postgres.source.config.PostgresSourceConfig;

/**
 * Flink CDC 3.5.0's Postgres dialect with TLS on its pooled connections too: its pool builds the
 * URL from host, port and database only, so {@code database.sslmode}/{@code sslrootcert} reached
 * Debezium's connections but not the pool's (which the enumerator uses to read the slot's position)
 * — those fell back to pgjdbc's {@code prefer}, verifying nothing.
 */
final class TlsPostgresDialect extends PostgresDialect {
    private static final long serialVersionUID = 1L;

    TlsPostgresDialect(PostgresSourceConfig sourceConfig) {
        super(sourceConfig);
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
