package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import org.orpo4j.runtime.Casts;

/**
 * {@code y = x·Wᵀ + b} with {@code W [out, in]} as HF stores it, plus an adapter's addition when one is installed
 * (LoRA). The op is invoked through the input, so the result belongs to the step's manager and never to the model's.
 * A weight frozen in 4 bits (QLoRA) is dequantized for the matmul and dropped after it, as bitsandbytes'
 * {@code Linear4bit} does.
 */
final class Linear extends Module {

    private final long in;
    private final long out;
    private final Weight weight; // [out, in]
    private final Weight bias; // [out], or null
    private LinearAdapter adapter; // null unless an adapter library installed one

    Linear(long in, long out, boolean withBias) {
        this.in = in;
        this.out = out;
        weight = addParameter("weight", Weight.Kind.MATRIX, new Shape(out, in));
        bias = withBias ? addParameter("bias", Weight.Kind.BIAS, new Shape(out)) : null;
    }

    /** [..., in] -> [..., out]. */
    NDArray forward(NDArray x) {
        NDArray b = bias == null ? null : bias.array();
        NDArray y = weight.quantized() == null ? apply(x, weight.array(), b) : weight.quantized().linear(x, b);
        return adapter == null ? y : y.add(Casts.to(adapter.forward(x), y.getDataType()));
    }

    long inFeatures() {
        return in;
    }

    long outFeatures() {
        return out;
    }

    NDArray weight() {
        return weight.array();
    }

    /** True when the weight is frozen in 4 bits. */
    boolean quantized() {
        return weight.quantized() != null;
    }

    LinearAdapter adapter() {
        return adapter;
    }

    void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }

    /** {@code x·wᵀ + b} computed in {@code x}'s manager; also used for the (possibly tied) LM head. */
    static NDArray apply(NDArray x, NDArray w, NDArray b) {
        return x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
    }
}
