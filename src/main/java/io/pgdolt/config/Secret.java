package io.pgdolt.config;

import java.io.Serializable;

/** A password: its {@link #toString()} never reveals it, so it cannot leak into a log line. */
public final class Secret implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String value;

    public Secret(String value) {
        this.value = value == null ? "" : value;
    }

    /** The secret itself: hand it only to a driver. */
    public String reveal() {
        return value;
    }

    @Override
    public String toString() {
        return value.isEmpty() ? "<empty>" : "******";
    }
}
