package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.Scalars;

/**
 * The decoder stack HF calls {@code model}: token embedding (gemma: times {@code sqrt(hidden)}),
 * {@code num_hidden_layers} decoder layers and the final RMSNorm. Positions of a right-padded batch are
 * {@code 0..T-1} (HF's default), or continue after the cached prefix during generation. Each layer attends with
 * its own {@link LayerSpec}: a sliding window restricts how far back a query sees, and the layer's RoPE (gemma3's
 * local or global base, none for smollm3's NoPE layers); one forward builds each distinct mask and table once.
 */
final class DecoderModel extends Module {

    private final Embedding embedTokens;
    private final List<DecoderLayer> layers = new ArrayList<>();
    private final RmsNorm norm;
    private final List<LayerSpec> specs;
    private final double embeddingScale;
    private AttnImplementation attnImplementation = AttnImplementation.EAGER;

    DecoderModel(ModelConfig config) {
        this.embedTokens = addChild("embed_tokens", new Embedding(config.vocabSize(), config.hiddenSize()));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(addChild("layers." + i, new DecoderLayer(config, i)));
        }
        this.norm = addChild("norm", new RmsNorm(config.hiddenSize(), config.rmsNormEps(),
                config.family().normStyle()));
        this.specs = config.layers();
        this.embeddingScale = config.embeddingScale();
    }

    /**
     * @param inputIds [N, T] int64
     * @param attentionMask [N, S] 1 = token, 0 = padding (S = cached + T), or null for no padding
     * @param cache the KV cache during generation, else null
     * @return [N, T, H] hidden states after the final norm, in the manager of {@code inputIds}
     */
    NDArray forward(NDArray inputIds, NDArray attentionMask, KvCache cache) {
        return forward(inputIds, new Padded(inputIds, attentionMask, cache == null ? 0 : cache.length()), cache);
    }

    /** Hidden states [1, L, H] of the packed row {@code inputIds} [1, L] laid out as {@code layout} says. */
    NDArray forward(NDArray inputIds, SharedPromptLayout layout) {
        return forward(inputIds, new Packed(inputIds, layout), null);
    }

    private NDArray forward(NDArray inputIds, Context c, KvCache cache) {
        NDArray h = embed(inputIds); // [N, T, H]
        for (int i = 0; i < layers.size(); i++) {
            h = layers.get(i).forward(h, c.rope(i), c.plan(i), cache);
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
        return trainingForward(inputIds, new Padded(inputIds, attentionMask, 0), checkpoint, beforeLayer);
    }

    /** The training forward of a packed row [1, L] of shared-prompt pairs. */
    TrainingForward trainingForward(NDArray inputIds, SharedPromptLayout layout, boolean checkpoint,
            IntConsumer beforeLayer) {
        return trainingForward(inputIds, new Packed(inputIds, layout), checkpoint, beforeLayer);
    }

    private TrainingForward trainingForward(NDArray inputIds, Context c, boolean checkpoint,
            IntConsumer beforeLayer) {
        NDArray embedded = embed(inputIds); // [N, T, H], on the graph
        if (!checkpoint) {
            NDArray h = embedded;
            for (int i = 0; i < layers.size(); i++) {
                beforeLayer.accept(i);
                h = layers.get(i).forward(h, c.rope(i), c.plan(i), null);
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
                h = layers.get(i).forward(h, c.rope(i), c.plan(i), null);
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
                try (NDArray output = layers.get(i).forward(input, c.rope(i), c.plan(i), null)) {
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

    /** The looked-up rows, times gemma's {@code sqrt(hidden)} rounded to the weights' dtype as HF rounds it. */
    private NDArray embed(NDArray inputIds) {
        NDArray rows = embedTokens.forward(inputIds); // [N, T, H]
        return embeddingScale == 1 ? rows : rows.mul(Scalars.like(rows, (float) embeddingScale));
    }

    /** What the layers of one forward share: one attention plan per window, one table per RoPE. */
    private abstract class Context {
        final NDManager manager; // the step's
        private final Map<Integer, AttentionPlan> plans = new HashMap<>(); // window (null: full) -> plan
        private final Map<RopeSpec, RotaryEmbedding.Tables> tables = new IdentityHashMap<>();

        Context(NDArray inputIds) {
            this.manager = inputIds.getManager();
        }

        AttentionPlan plan(int layer) {
            return plans.computeIfAbsent(specs.get(layer).window(), this::plan);
        }

        /** [T, R] tables in the dtype of the weights (float32, or the half copies of mixed precision); or null. */
        RotaryEmbedding.Tables rope(int layer) {
            RopeSpec spec = specs.get(layer).rope();
            return spec == null ? null : tables.computeIfAbsent(spec,
                    r -> tables(r, embedTokens.weight().getDataType()));
        }

        abstract AttentionPlan plan(Integer window);

        abstract RotaryEmbedding.Tables tables(RopeSpec spec, DataType dtype);
    }

    /** Right-padded rows at positions {@code past .. past+T-1}: one mask [N|1, 1, T, S] per window. */
    private final class Padded extends Context {
        private final NDArray keyMask;
        private final long past;
        private final int length;

        Padded(NDArray inputIds, NDArray keyMask, long past) {
            super(inputIds);
            this.keyMask = keyMask;
            this.past = past;
            this.length = Math.toIntExact(inputIds.getShape().get(1));
        }

        @Override
        AttentionPlan plan(Integer window) {
            NDArray mask = AttentionMask.build(manager, keyMask, past, length, window);
            boolean causal = attnImplementation == AttnImplementation.SDPA && past == 0 && window == null
                    && unpadded();
            return AttentionPlan.whole(mask, causal, attnImplementation);
        }

        /** No key is padding (reads one number back; asked only for the fused kernel). */
        private boolean unpadded() {
            if (keyMask == null) {
                return true;
            }
            try (NDArray min = keyMask.min(); NDArray asLong = min.toType(DataType.INT64, false)) {
                return asLong.getLong() != 0;
            }
        }

        @Override
        RotaryEmbedding.Tables tables(RopeSpec spec, DataType dtype) {
            return RotaryEmbedding.tables(spec, manager, past, length, dtype);
        }
    }

    /** A packed row of shared-prompt pairs: each piece of the layout with its own mask, tables by position. */
    private final class Packed extends Context {
        private final SharedPromptLayout layout;
        private final long[] positions;

        Packed(NDArray inputIds, SharedPromptLayout layout) {
            super(inputIds);
            if (!inputIds.getShape().equals(new Shape(1, layout.length()))) {
                throw new IllegalArgumentException("packed ids have shape " + inputIds.getShape() + "; the layout"
                        + " needs [1, " + layout.length() + "]");
            }
            this.layout = layout;
            this.positions = layout.positions();
        }

        @Override
        AttentionPlan plan(Integer window) {
            List<AttentionPlan.Piece> pieces = new ArrayList<>();
            for (SharedPromptLayout.AttentionPiece p : layout.attentionPieces()) {
                long[] queries = Arrays.copyOfRange(positions, p.queryStart(), p.queryEnd());
                long[] keys = new long[p.keyCount()];
                int k = 0;
                for (int[] r : p.keyRanges()) {
                    for (int j = r[0]; j < r[1]; j++) {
                        keys[k++] = positions[j];
                    }
                }
                int[] last = p.keyRanges()[p.keyRanges().length - 1];
                boolean causal = window == null && p.paddingKeys() == 0 && last[0] <= p.queryStart()
                        && last[1] == p.queryEnd() && increasing(keys);
                pieces.add(new AttentionPlan.Piece(p.queryStart(), p.queryEnd(), p.keyRanges(),
                        AttentionMask.build(manager, queries, keys, window, p.paddingKeys()), causal));
            }
            return AttentionPlan.pieces(pieces, attnImplementation);
        }

        @Override
        RotaryEmbedding.Tables tables(RopeSpec spec, DataType dtype) {
            return RotaryEmbedding.tables(spec, manager, positions, dtype);
        }

        private static boolean increasing(long[] positions) {
            for (int i = 1; i < positions.length; i++) {
                if (positions[i] <= positions[i - 1]) {
                    return false;
                }
            }
            return true;
        }
    }

    void attnImplementation(AttnImplementation implementation) {
        this.attnImplementation = implementation;
    }

    AttnImplementation attnImplementation() {
        return attnImplementation;
    }

    Embedding embedTokens() {
        return embedTokens;
    }

    int numLayers() {
        return layers.size();
    }
}
