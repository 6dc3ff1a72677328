package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoder stack HF calls {@code model}: token embedding, {@code num_hidden_layers} decoder layers sharing one
 * rotary table, and the final RMSNorm. Positions of a right-padded batch are {@code 0..T-1} (HF's default), or
 * continue after the cached prefix during generation. A sliding window (mistral; qwen2/qwen3 with
 * {@code use_sliding_window}, from layer {@code max_window_layers} on, as in HF) restricts how far back a query sees.
 */
final class LlamaModel extends Module {

    private final Embedding embedTokens;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final RmsNorm norm;
    private final RotaryEmbedding rotary;
    private final Integer slidingWindow;
    private final int firstWindowedLayer;

    LlamaModel(ModelConfig config) {
        this.embedTokens = addChild("embed_tokens", new Embedding(config.vocabSize(), config.hiddenSize()));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(addChild("layers." + i, new DecoderLayer(config, i)));
        }
        this.norm = addChild("norm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
        this.rotary = new RotaryEmbedding(config);
        this.slidingWindow = config.slidingWindow();
        this.firstWindowedLayer = firstWindowedLayer(config);
    }

    /** Qwen2/Qwen3 window only layers >= {@code max_window_layers} (HF default 28); mistral windows every layer. */
    private static int firstWindowedLayer(ModelConfig config) {
        boolean qwen = config.modelType().equals("qwen2") || config.modelType().equals("qwen3");
        return qwen ? config.raw().path("max_window_layers").asInt(28) : 0;
    }

    /**
     * @param inputIds [N, T] int64
     * @param attentionMask [N, S] 1 = token, 0 = padding (S = cached + T), or null for no padding
     * @param cache the KV cache during generation, else null
     * @return [N, T, H] hidden states after the final norm, in the manager of {@code inputIds}
     */
    NDArray forward(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        var manager = inputIds.getManager();
        int t = Math.toIntExact(inputIds.getShape().get(1));
        long past = cache == null ? 0 : cache.length();
        // [T, D] each, in the dtype of the weights (float32, or the half-precision copies of mixed precision)
        RotaryEmbedding.Tables rope = rotary.tables(manager, past, t, embedTokens.weight().getDataType());
        boolean windowed = slidingWindow != null && firstWindowedLayer < layers.size();
        NDArray fullMask = windowed && firstWindowedLayer == 0 ? null
                : AttentionMask.build(manager, attentionMask, past, t, null); // [N|1, 1, T, S]
        NDArray windowMask = windowed ? AttentionMask.build(manager, attentionMask, past, t, slidingWindow) : null;
        NDArray h = embedTokens.forward(inputIds); // [N, T, H]
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h, rope, windowed && i >= firstWindowedLayer ? windowMask : fullMask, cache);
        }
        return norm.forward(h);
    }

    Embedding embedTokens() {
        return embedTokens;
    }

    int numLayers() {
        return layers.size();
    }
}
