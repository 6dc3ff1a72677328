package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import org.orpo4j.runtime.Scalars;

/** The gate activation of the feed-forward block, as transformers' {@code ACT2FN} names it. */
enum MlpActivation {
    /** {@code silu}: {@code g · σ(g)} (SwiGLU). */
    SILU {
        @Override
        NDArray apply(NDArray g) {
            return g.mul(Activation.sigmoid(g));
        }
    },
    /**
     * {@code gelu_pytorch_tanh}: {@code g/2 · (1 + tanh(√(2/π) · (g + 0.044715 g³)))} (GeGLU), composed of
     * differentiable ops since DJL's gelu is the exact erf form.
     */
    GELU_TANH {
        @Override
        NDArray apply(NDArray g) {
            NDArray inner = g.mul(g).mul(Scalars.like(g, 0.044715)).add(1f).mul(g); // g + 0.044715 g³
            NDArray t = inner.mul(Scalars.like(g, Math.sqrt(2 / Math.PI))).tanh();
            return g.mul(Scalars.like(g, 0.5)).mul(t.add(1f));
        }
    };

    /** [..., I] -> [..., I]. */
    abstract NDArray apply(NDArray gate);
}
