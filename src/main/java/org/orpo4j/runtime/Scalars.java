package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Scalars that are safe inside an autograd graph. On CPU, DJL's {@code create(...)} wraps a Java direct buffer
 * without copying, and its {@code mul(Number)}/{@code div(Number)}/{@code minimum(Number)} overloads close that
 * scalar right after the op; backward still reads it, and once the GC has reclaimed the buffer the gradient is
 * computed from garbage (measured here: 20 of 20 backward passes wrong after a GC). Use these instead of the
 * {@code Number} overloads whenever the backward pass reads the scalar; {@code add}/{@code sub}/{@code clip}
 * with a {@code Number} are safe, their backward does not read it.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * A 0-dim array holding {@code value} in {@code like}'s dtype, device and manager, whose memory libtorch owns,
     * so neither closing it nor the GC can pull the value from under a pending backward pass.
     */
    public static NDArray like(NDArray like, double value) {
        NDManager manager = like.getManager();
        try (NDArray javaBacked = manager.create(value)) { // float64, a view of a Java buffer
            NDArray owned = javaBacked.toType(like.getDataType(), true); // a copy in libtorch's memory
            if (owned.getDevice().equals(like.getDevice())) {
                return owned;
            }
            try (owned) {
                return owned.toDevice(like.getDevice(), true);
            }
        }
    }
}
