package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * One trainable tensor of a module, torch's {@code nn.Parameter}: its kind (for initialisation), the shape its
 * config demands, and the array the forward pass reads. The array can be replaced (DJL's {@code Parameter} sets it
 * once): mixed precision trains a half-precision copy in the model while the float32 masters live in the trainer.
 */
final class Weight {

    /**
     * What a tensor is, which decides its initial values (HF's {@code _init_weights}): matrices drawn, biases 0,
     * norms 1, gemma's {@code (1 + w)} norms 0.
     */
    enum Kind { MATRIX, BIAS, NORM, CENTRED_NORM }

    private final Kind kind;
    private final Shape shape;
    private NDArray array;

    Weight(Kind kind, Shape shape) {
        this.kind = kind;
        this.shape = shape;
    }

    Kind kind() {
        return kind;
    }

    Shape shape() {
        return shape;
    }

    /** The array the forward pass reads; null until loaded or initialised. */
    NDArray array() {
        return array;
    }

    void set(NDArray array) {
        if (!array.getShape().equals(shape)) {
            throw new IllegalArgumentException("tensor of shape " + array.getShape() + " where " + shape
                    + " is needed");
        }
        this.array = array;
    }
}
