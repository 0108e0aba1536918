package io.pgdolt.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** One database on a test server, with small JDBC helpers. */
public record Db(String host, int port, String database, String user, String password) {

    public String url() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    /** The same server, another database. */
    public Db withDatabase(String name) {
        return new Db(host, port, name, user, password);
    }

    public Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        Connection c = DriverManager.getConnection(url(), p);
        try (Statement st = c.createStatement()) {
            st.execute("SET TIME ZONE 'UTC'");
        }
        return c;
    }

    /** Runs statements in autocommit mode. */
    public void exec(String... sql) throws SQLException {
        try (Connection c = connect();
                Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    /** All rows of a query, every column as text (null stays null). */
    public List<List<String>> rows(String sql) throws SQLException {
        try (Connection c = connect()) {
            return rows(c, sql);
        }
    }

    public static List<List<String>> rows(Connection c, String sql) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        try (Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                List<String> row = new ArrayList<>(md.getColumnCount());
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    /** The single value of a query. */
    public String value(String sql) throws SQLException {
        List<List<String>> r = rows(sql);
        return r.isEmpty() ? null : r.get(0).get(0);
    }

    @Override
    public String toString() {
        return url() + " as " + user; // never the password
    }
}
