package io.pgdolt.verify;

import io.pgdolt.config.Secret;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Opens verify's connections to one server: session time zone UTC (so timestamptz prints alike on
 * both), every result in text format (so {@code getString} is the server's own output function).
 */
record Connector(String role, String url, String user, Secret password) {

    Connection open() throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password.reveal());
        props.setProperty("ApplicationName", "pgdolt-verify");
        props.setProperty("connectTimeout", "10");
        props.setProperty("tcpKeepAlive", "true");
        // Never server-prepared, never binary: values arrive as the server printed them.
        props.setProperty("prepareThreshold", "0");
        props.setProperty("binaryTransfer", "false");
        Connection c = DriverManager.getConnection(url, props);
        try (Statement st = c.createStatement()) {
            st.execute("SET TIME ZONE 'UTC'");
        } catch (SQLException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return c;
    }

    /** Where, for messages: the URL without a password parameter, and the user. */
    String describe() {
        return io.pgdolt.config.ConfigLoader.redactUrl(url) + " as " + user;
    }
}
