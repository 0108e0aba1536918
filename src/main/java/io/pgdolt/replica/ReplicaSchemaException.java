package io.pgdolt.replica;

/** The replica's schema cannot take a change: a missing table or column. Never retried. */
public final class ReplicaSchemaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ReplicaSchemaException(String message) {
        super(message);
    }
}
