package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

/** One pre-norm transformer block ({@code model.layers.i}): {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}. */
final class DecoderLayer extends Module {

    private final int index;
    private final Attention selfAttn;
    private final Mlp mlp;
    private final RmsNorm inputLayernorm;
    private final RmsNorm postAttentionLayernorm;

    DecoderLayer(ModelConfig config, int index) {
        this.index = index;
        this.selfAttn = addChild("self_attn", new Attention(config));
        this.mlp = addChild("mlp", new Mlp(config));
        this.inputLayernorm = addChild("input_layernorm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
        this.postAttentionLayernorm =
                addChild("post_attention_layernorm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
    }

    /**
     * [N, T, H] -> [N, T, H]; see {@link Attention#forward} for the other arguments. The layer's intermediate
     * arrays are closed when it returns: autograd holds its own references to what backward needs and frees them
     * as backward passes, which the step manager's handles would otherwise prevent until the step ends.
     */
    NDArray forward(NDArray x, RotaryEmbedding.Tables rope, NDArray mask, KvCache cache) {
        try (NDScope scope = new NDScope()) {
            NDArray h = x.add(selfAttn.forward(inputLayernorm.forward(x), rope, mask, cache, index));
            NDArray out = h.add(mlp.forward(postAttentionLayernorm.forward(h)));
            NDScope.unregister(out);
            return out;
        }
    }
}
