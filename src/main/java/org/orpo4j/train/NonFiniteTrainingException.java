package org.orpo4j.train;

/** Thrown when {@code maxNonFiniteSteps} optimizer steps in a row had a NaN/Inf loss or gradient norm. */
public final class NonFiniteTrainingException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public NonFiniteTrainingException(String message) {
        super(message);
    }
}
