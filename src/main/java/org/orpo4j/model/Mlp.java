package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * The gated feed-forward block ({@code mlp}): {@code down(act(gate(x)) · up(x))}, SwiGLU or GeGLU as the family's
 * activation says, with gate and up as two linears or phi3's fused {@code gate_up_proj} (gate the first half).
 */
final class Mlp extends Module {

    private final Projections gateUp; // H -> I, I
    private final Linear downProj; // I -> H
    private final MlpActivation activation;

    Mlp(ModelConfig config) {
        long hidden = config.hiddenSize();
        long intermediate = config.intermediateSize();
        long[] widths = {intermediate, intermediate};
        this.gateUp = addPart(config.family().fusedProjections()
                ? Projections.fused(hidden, "gate_up_proj", widths)
                : Projections.separate(hidden, config.mlpBias(), new String[] {"gate_proj", "up_proj"}, widths));
        this.downProj = addChild("down_proj", new Linear(intermediate, hidden, config.mlpBias()));
        this.activation = config.family().activation();
    }

    /** [N, T, H] -> [N, T, H]. */
    NDArray forward(NDArray x) {
        NDList gu = gateUp.forward(x); // [N, T, I] each
        return downProj.forward(activation.apply(gu.get(0)).mul(gu.get(1)));
    }
}
