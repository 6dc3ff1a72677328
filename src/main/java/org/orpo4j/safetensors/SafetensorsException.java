package org.orpo4j.safetensors;

/** A checkpoint file or index that is truncated, corrupt or unsupported; the message names the file and tensor. */
public final class SafetensorsException extends RuntimeException {

    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
