package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.orpo4j.runtime.GradMode;

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
        Context c = context(inputIds, attentionMask, cache);
        NDArray h = embedTokens.forward(inputIds); // [N, T, H]
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h, c.rope(), c.mask(i), cache);
        }
        return norm.forward(h);
    }

    /**
     * The training forward, {@code beforeLayer} called with each layer's index before it runs (and before it is
     * recomputed), so whatever draws random numbers there (LoRA dropout) can be reseeded to repeat itself. With
     * {@code checkpoint}, the layers run without recording and keep only their inputs [N, T, H]; the graph starts at
     * the last layer's output, and {@link TrainingForward#backward()} recomputes layer L-1 down to 0 from its saved
     * input with recording on, back-propagates the upstream gradient through it (parameter gradients accumulate
     * as usual) and hands the input's gradient down, ending in the embedding. The same kernels run on the same
     * values, so the gradients are those of the plain path.
     */
    TrainingForward trainingForward(NDArray inputIds, NDArray attentionMask, boolean checkpoint,
            IntConsumer beforeLayer) {
        Context c = context(inputIds, attentionMask, null);
        NDArray embedded = embedTokens.forward(inputIds); // [N, T, H], on the graph
        if (!checkpoint) {
            NDArray h = embedded;
            for (int i = 0; i < layers.size(); i++) {
                beforeLayer.accept(i);
                h = layers.get(i).forward(h, c.rope(), c.mask(i), null);
            }
            return new TrainingForward(norm.forward(h), null);
        }
        List<NDArray> inputs = new ArrayList<>(layers.size()); // each layer's input, off the graph
        NDArray top;
        try (GradMode off = GradMode.enabled(false)) {
            NDArray h = embedded.stopGradient();
            for (int i = 0; i < layers.size(); i++) {
                inputs.add(h);
                beforeLayer.accept(i);
                h = layers.get(i).forward(h, c.rope(), c.mask(i), null);
            }
            top = h;
        }
        top.setRequiresGradient(true); // the leaf the loss's backward stops at
        return new TrainingForward(norm.forward(top), () -> {
            NDArray upstream = top.getGradient(); // d loss / d output of layer L-1
            for (int i = layers.size() - 1; i >= 0; i--) {
                NDArray input = inputs.get(i);
                input.setRequiresGradient(true);
                beforeLayer.accept(i);
                try (NDArray output = layers.get(i).forward(input, c.rope(), c.mask(i), null)) {
                    JniUtils.backward((PtNDArray) output, (PtNDArray) upstream, false, false);
                }
                upstream.close();
                upstream = input.getGradient();
                input.close();
            }
            if (JniUtils.requiresGrad((PtNDArray) embedTokens.weight())) { // frozen under LoRA
                JniUtils.backward((PtNDArray) embedded, (PtNDArray) upstream, false, false);
            }
            upstream.close();
        });
    }

    /** What every layer of one forward shares: the rotary tables and the attention masks. */
    private record Context(RotaryEmbedding.Tables rope, NDArray fullMask, NDArray windowMask, int firstWindowed) {
        NDArray mask(int layer) {
            return windowMask != null && layer >= firstWindowed ? windowMask : fullMask;
        }
    }

    private Context context(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        var manager = inputIds.getManager();
        int t = Math.toIntExact(inputIds.getShape().get(1));
        long past = cache == null ? 0 : cache.length();
        // [T, D] each, in the dtype of the weights (float32, or the half-precision copies of mixed precision)
        RotaryEmbedding.Tables rope = rotary.tables(manager, past, t, embedTokens.weight().getDataType());
        boolean windowed = slidingWindow != null && firstWindowedLayer < layers.size();
        NDArray fullMask = windowed && firstWindowedLayer == 0 ? null
                : AttentionMask.build(manager, attentionMask, past, t, null); // [N|1, 1, T, S]
        NDArray windowMask = windowed ? AttentionMask.build(manager, attentionMask, past, t, slidingWindow) : null;
        return new Context(rope, fullMask, windowMask, firstWindowedLayer);
    }

    Embedding embedTokens() {
        return embedTokens;
    }

    int numLayers() {
        return layers.size();
    }
}
