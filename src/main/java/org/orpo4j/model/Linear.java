package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * {@code y = x·Wᵀ + b} with {@code W [out, in]} as HF stores it. The op is invoked through the input, so the result
 * belongs to the step's manager and never to the model's.
 */
final class Linear extends Module {

    private final Weight weight; // [out, in]
    private final Weight bias; // [out], or null

    Linear(long in, long out, boolean withBias) {
        weight = addParameter("weight", Weight.Kind.MATRIX, new Shape(out, in));
        bias = withBias ? addParameter("bias", Weight.Kind.BIAS, new Shape(out)) : null;
    }

    /** [..., in] -> [..., out]. */
    NDArray forward(NDArray x) {
        return apply(x, weight.array(), bias == null ? null : bias.array());
    }

    /** {@code x·wᵀ + b} computed in {@code x}'s manager; also used for the (possibly tied) LM head. */
    static NDArray apply(NDArray x, NDArray w, NDArray b) {
        return x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
    }
}
