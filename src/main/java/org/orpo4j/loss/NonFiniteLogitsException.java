package org.orpo4j.loss;

/**
 * Logits with NaN or ±Inf in a row: a diverged or broken model rather than bad input, so a trainer can skip the
 * step instead of failing the run.
 */
public final class NonFiniteLogitsException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    NonFiniteLogitsException(String message) {
        super(message);
    }
}
