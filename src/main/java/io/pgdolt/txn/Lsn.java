package io.pgdolt.txn;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;

/**
 * A PostgreSQL write-ahead-log position.
 *
 * <p>An LSN is an unsigned 64-bit number; comparison is unsigned so that ordering stays right over
 * the whole range. Immutable and thread-safe.
 */
public final class Lsn implements Comparable<Lsn>, Serializable {
    private static final long serialVersionUID = 1L;

    /** The invalid position {@code 0/0}: used for "nothing applied yet". */
    public static final Lsn ZERO = new Lsn(0L);

    private final long value;

    private Lsn(long value) {
        this.value = value;
    }

    /** The LSN with the given raw (unsigned) value. */
    public static Lsn of(long value) {
        return value == 0L ? ZERO : new Lsn(value);
    }

    /**
     * Parses the textual form {@code XXXXXXXX/YYYYYYYY} that PostgreSQL prints (hex, each half at
     * most 8 digits).
     *
     * @throws IllegalArgumentException if the text is not an LSN
     */
    public static Lsn parse(String text) {
        Objects.requireNonNull(text, "lsn text");
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0) {
            throw new IllegalArgumentException(
                    "not an LSN: '" + text + "' (expected the form 16/B374D848)");
        }
        String hi = text.substring(0, slash).trim();
        String lo = text.substring(slash + 1).trim();
        if (hi.length() > 8 || lo.length() > 8) {
            throw new IllegalArgumentException(
                    "not an LSN: '" + text + "' (each half has at most 8 hex digits)");
        }
        try {
            return of((Long.parseLong(hi, 16) << 32) | Long.parseLong(lo, 16));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "not an LSN: '" + text + "' (halves must be hexadecimal)", e);
        }
    }

    public long value() {
        return value;
    }

    public boolean isZero() {
        return value == 0L;
    }

    public boolean isAfter(Lsn other) {
        return compareTo(other) > 0;
    }

    @Override
    public int compareTo(Lsn other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Lsn && ((Lsn) o).value == value;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(value);
    }

    /** The PostgreSQL textual form, e.g. {@code 16/B374D848}. */
    @Override
    public String toString() {
        // As "%X/%X" formats it, without a Formatter: every applied transaction writes two.
        return (Long.toHexString(value >>> 32) + '/' + Long.toHexString(value & 0xFFFFFFFFL))
                .toUpperCase(Locale.ROOT);
    }
}
