package org.orpo4j.model;

import ai.djl.ndarray.NDArray;

/**
 * A handle on one of the model's linear layers ({@code model.layers.0.self_attn.q_proj}, ...): its shape and
 * weight, and the adapter it adds to its output, if any. What adapter libraries attach to.
 */
public final class LinearLayer {

    private final Linear linear;

    LinearLayer(Linear linear) {
        this.linear = linear;
    }

    public long inFeatures() {
        return linear.inFeatures();
    }

    public long outFeatures() {
        return linear.outFeatures();
    }

    /**
     * The weight [out, in] the layer reads (the float32 array, or mixed precision's half copy); a layer whose weight
     * is frozen in 4 bits has none ({@link CausalLm#dequantize()} gives it back one).
     */
    public NDArray weight() {
        if (linear.quantized()) {
            throw new IllegalStateException("the layer's weight is 4-bit; CausalLm.dequantize() restores a float one");
        }
        return linear.weight();
    }

    /** True when the layer's weight is frozen in 4 bits (QLoRA's base). */
    public boolean quantized() {
        return linear.quantized();
    }

    /** The adapter added to this layer's output, or null. */
    public LinearAdapter adapter() {
        return linear.adapter();
    }

    /** Installs ({@code null}: removes) the adapter added to this layer's output. */
    public void setAdapter(LinearAdapter adapter) {
        linear.setAdapter(adapter);
    }
}
