package io.pgdolt.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The connector's connection pool gets the same TLS settings as its other connections. */
class TlsPostgresDialectTest {

    @Test
    void poolUrlCarriesTheTlsSettings() {
        Properties dbz = new Properties();
        assertThat(TlsPostgresDialect.withTls("jdbc:postgresql://h:5432/db", dbz))
                .isEqualTo("jdbc:postgresql://h:5432/db");
        dbz.setProperty("database.sslmode", "verify-full");
        dbz.setProperty("database.sslrootcert", "/etc/certs/root ca+1.crt");
        assertThat(TlsPostgresDialect.withTls("jdbc:postgresql://h:5432/db", dbz))
                .isEqualTo(
                        "jdbc:postgresql://h:5432/db?sslmode=verify-full"
                                + "&sslrootcert=%2Fetc%2Fcerts%2Froot+ca%2B1.crt");
    }
}
