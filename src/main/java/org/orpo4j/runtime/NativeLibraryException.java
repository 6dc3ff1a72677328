package org.orpo4j.runtime;

/**
 * orpo4j's native library can't be used as configured: a one-line message naming the library, the problem and the
 * fix (docs/native.md). Thrown before DJL loads anything, so the JVM is never at risk.
 */
public final class NativeLibraryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public NativeLibraryException(String message) {
        super(message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
