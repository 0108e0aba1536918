package io.pgdolt.replica;

/**
 * The progress row moved under this session: another committer of the same pipeline applied
 * transactions meanwhile. The attempt is rolled back; retrying on a new session re-reads the
 * progress and skips what is applied.
 */
public final class ConcurrentCommitterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConcurrentCommitterException(String message) {
        super(message);
    }
}
