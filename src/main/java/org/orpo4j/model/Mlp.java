package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/** The SwiGLU feed-forward block ({@code mlp}): {@code down(silu(gate(x)) · up(x))}. */
final class Mlp extends Module {

    private final Linear gateProj; // H -> I
    private final Linear upProj; // H -> I
    private final Linear downProj; // I -> H

    Mlp(ModelConfig config) {
        long hidden = config.hiddenSize();
        long intermediate = config.intermediateSize();
        boolean bias = config.mlpBias();
        this.gateProj = addChild("gate_proj", new Linear(hidden, intermediate, bias));
        this.upProj = addChild("up_proj", new Linear(hidden, intermediate, bias));
        this.downProj = addChild("down_proj", new Linear(intermediate, hidden, bias));
    }

    /** [N, T, H] -> [N, T, H]. */
    NDArray forward(NDArray x) {
        NDArray gate = gateProj.forward(x); // [N, T, I]
        NDArray silu = gate.mul(Activation.sigmoid(gate)); // silu(g) = g·σ(g)
        return downProj.forward(silu.mul(upProj.forward(x)));
    }
}
