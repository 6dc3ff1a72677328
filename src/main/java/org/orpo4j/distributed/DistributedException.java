package org.orpo4j.distributed;

/** A rendezvous or collective that failed: a lost rank, a timeout, a refused setup; the message is one line. */
public class DistributedException extends RuntimeException {

    public DistributedException(String message) {
        super(message);
    }

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
