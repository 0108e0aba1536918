package io.pgdolt.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ConcurrentModificationException;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The connector's connection pool gets the same TLS settings as its other connections; confirming
 * the slot survives Flink CDC's race with the reader thread.
 */
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

    @Test
    void slotConfirmationIsRepeatedWhenTheReaderChangedTheOffsetUnderIt() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        boolean confirmed =
                TlsPostgresDialect.confirmSlot(
                        () -> {
                            if (calls.incrementAndGet() < 3) {
                                throw new ConcurrentModificationException();
                            }
                        },
                        7);
        assertThat(confirmed).isTrue();
        assertThat(calls).hasValue(3);
    }

    @Test
    void slotConfirmationGivesUpForThisCheckpointOnlyAfterEveryAttempt() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        boolean confirmed =
                TlsPostgresDialect.confirmSlot(
                        () -> {
                            calls.incrementAndGet();
                            throw new ConcurrentModificationException();
                        },
                        7);
        assertThat(confirmed).isFalse();
        assertThat(calls).hasValue(TlsPostgresDialect.CONFIRM_ATTEMPTS);
    }

    @Test
    void otherFailuresOfSlotConfirmationAreNotRetried() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(
                        () ->
                                TlsPostgresDialect.confirmSlot(
                                        () -> {
                                            calls.incrementAndGet();
                                            throw new java.sql.SQLException("connection lost");
                                        },
                                        7))
                .hasMessage("connection lost");
        assertThat(calls).hasValue(1);
    }
}
