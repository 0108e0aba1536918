package io.pgdolt.verify;

/** Verify could not read a table (a server error, not a difference): exit status 2. */
final class VerifyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    VerifyException(String message, Throwable cause) {
        super(message, cause);
    }
}
