package io.pgdolt.source;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the primary's password out of the logs: Flink CDC 3.5.0's {@code
 * PostgresSourceFetchTaskContext} logs the whole connector configuration, password included, at
 * INFO whenever a reader starts a split — and a Flink cluster logs INFO by default. This raises
 * that one logger to WARN wherever a source reader runs (with log4j 2, Flink's logging).
 */
final class ConnectorLogGuard {
    static final String LEAKY_LOGGER =
            "org.apache.flink.cdc.connectors.postgres.source.fetch.PostgresSourceFetchTaskContext";

    private static final Logger LOG = LoggerFactory.getLogger(ConnectorLogGuard.class);

    private ConnectorLogGuard() {}

    static void apply() {
        try {
            org.apache.logging.log4j.Logger leaky =
                    org.apache.logging.log4j.LogManager.getLogger(LEAKY_LOGGER);
            if (leaky.isInfoEnabled()) {
                org.apache.logging.log4j.core.config.Configurator.setLevel(
                        LEAKY_LOGGER, org.apache.logging.log4j.Level.WARN);
                LOG.info(
                        "logger {} raised to WARN: at INFO it would log the connector"
                                + " configuration with the primary's password",
                        LEAKY_LOGGER);
            }
        } catch (LinkageError | RuntimeException e) {
            LOG.warn(
                    "cannot raise logger {} to WARN ({}): set it to WARN in the logging"
                            + " configuration, or it logs the primary's password at INFO",
                    LEAKY_LOGGER,
                    e.toString());
        }
    }
}
