package io.pgdolt.replica;

/** The replica does not hold what the primary's change expects (a missing or duplicate row). */
public final class ReplicaDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ReplicaDivergedException(String message) {
        super(message);
    }
}
