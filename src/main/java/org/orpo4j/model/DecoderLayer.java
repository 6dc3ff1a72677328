package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

/**
 * One pre-norm transformer block ({@code model.layers.i}): {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}.
 * Gemma2/gemma3 add "sandwich" norms on each sublayer's output before its residual add; their pre-MLP norm is then
 * called {@code pre_feedforward_layernorm} and {@code post_attention_layernorm} normalises the attention output.
 */
final class DecoderLayer extends Module {

    private final int index;
    private final Attention selfAttn;
    private final Mlp mlp;
    private final RmsNorm inputNorm;
    private final RmsNorm attentionOutNorm; // sandwich only, else null
    private final RmsNorm mlpInNorm;
    private final RmsNorm mlpOutNorm; // sandwich only, else null

    DecoderLayer(ModelConfig config, int index) {
        this.index = index;
        this.selfAttn = addChild("self_attn", new Attention(config));
        this.mlp = addChild("mlp", new Mlp(config));
        long hidden = config.hiddenSize();
        double eps = config.rmsNormEps();
        RmsNorm.Style style = config.family().normStyle();
        this.inputNorm = addChild("input_layernorm", new RmsNorm(hidden, eps, style));
        if (config.family().sandwichNorms()) {
            this.attentionOutNorm = addChild("post_attention_layernorm", new RmsNorm(hidden, eps, style));
            this.mlpInNorm = addChild("pre_feedforward_layernorm", new RmsNorm(hidden, eps, style));
            this.mlpOutNorm = addChild("post_feedforward_layernorm", new RmsNorm(hidden, eps, style));
        } else {
            this.attentionOutNorm = null;
            this.mlpInNorm = addChild("post_attention_layernorm", new RmsNorm(hidden, eps, style));
            this.mlpOutNorm = null;
        }
    }

    /**
     * [N, T, H] -> [N, T, H]; see {@link Attention#forward} for the other arguments. The layer's intermediate
     * arrays are closed when it returns: autograd holds its own references to what backward needs and frees them
     * as backward passes, which the step manager's handles would otherwise prevent until the step ends.
     */
    NDArray forward(NDArray x, RotaryEmbedding.Tables rope, AttentionPlan plan, KvCache cache) {
        try (NDScope scope = new NDScope()) {
            NDArray attended = selfAttn.forward(inputNorm.forward(x), rope, plan, cache, index);
            NDArray h = x.add(attentionOutNorm == null ? attended : attentionOutNorm.forward(attended));
            NDArray fed = mlp.forward(mlpInNorm.forward(h));
            NDArray out = h.add(mlpOutNorm == null ? fed : mlpOutNorm.forward(fed));
            NDScope.unregister(out);
            return out;
        }
    }
}
