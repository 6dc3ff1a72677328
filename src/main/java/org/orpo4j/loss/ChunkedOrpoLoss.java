package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.GradientTensors;
import org.orpo4j.runtime.Owned;
import org.orpo4j.runtime.Scalars;

/**
 * The ORPO loss from the final hidden states and the LM head without ever holding the [2B, T, V] logits: the
 * Liger-Kernel idea on DJL. Logits exist one chunk of C positions at a time ([C, V], C·V ≈ {@code chunkValues}),
 * in three steps:
 * <ol>
 *   <li>pass 1, gradients off: the {@link RowStats} sums, chunk by chunk;</li>
 *   <li>{@link OrpoLoss#fromRowStats} on those sums as autograd leaves: the loss, the metrics and the small
 *       gradients d loss / d (row sums);</li>
 *   <li>pass 2, gradients off: per chunk the logits again, d loss / d logits in closed form, accumulated into
 *       dHidden [2B, T, H] and, block by block, straight into W's own gradient (see {@link ChunkedGradients}).</li>
 * </ol>
 * The returned loss has the value of stage 2 and is wired to autograd through the surrogate
 * {@code Σ hidden ⊙ dHidden} (whose value is subtracted again, so it adds exactly 0): its backward delivers
 * exactly dHidden to the hidden states and on through the model. Autograd keeps only dHidden, never a chunk's
 * logits, and no [V, H] buffer exists besides W's gradient itself. Because W's gradient is written before
 * backward, a gradient scale (1/G for accumulation) is passed in rather than applied to the loss. With tied
 * embeddings W is the embedding matrix and both gradients add up in it. Outside a gradient collector (grad mode
 * off: evaluation) pass 2 is skipped; a W that is not a trainable leaf (frozen head) gets no gradient.
 *
 * <p>PyTorch engine only (it reads autograd state through {@link JniUtils}); FLOAT32 or FLOAT64, or a half-precision model (FLOAT16 or BFLOAT16 hidden states and head, the
 * logits widened to float32 chunk by chunk), any device.
 */
public final class ChunkedOrpoLoss {

    /** Logits values per chunk by default: 2^24 (64 MB in float32), e.g. 341 positions at V = 49152. */
    public static final long DEFAULT_CHUNK_VALUES = 1L << 24;

    /**
     * Above this many logits values in a batch (2B·(T−1)·V) {@link #recommended} says chunk: one default chunk.
     * Beyond it the chunked path needs less memory and, on CPU, measured no slower (docs/benchmarks.md).
     */
    public static final long AUTO_THRESHOLD_VALUES = DEFAULT_CHUNK_VALUES;

    private final OrpoLoss loss;
    private final long chunkValues;
    private final double softcap; // 0: none
    private final ChunkProbe probe;

    private ChunkedOrpoLoss(OrpoLoss loss, long chunkValues, double softcap, ChunkProbe probe) {
        if (chunkValues < 1) {
            throw new IllegalArgumentException("chunkValues must be >= 1, got " + chunkValues);
        }
        if (softcap < 0 || !Double.isFinite(softcap)) {
            throw new IllegalArgumentException("the logit soft-cap must be positive, got " + softcap);
        }
        this.loss = loss;
        this.chunkValues = chunkValues;
        this.softcap = softcap;
        this.probe = probe;
    }

    /** The chunked path of {@code loss} (same beta, alpha, promptLoss) with {@link #DEFAULT_CHUNK_VALUES}. */
    public static ChunkedOrpoLoss of(OrpoLoss loss) {
        return new ChunkedOrpoLoss(loss, DEFAULT_CHUNK_VALUES, 0, ChunkProbe.NONE);
    }

    /** The chunked path of {@code loss} with chunks of about {@code chunkValues} logits values (at least one row). */
    public static ChunkedOrpoLoss of(OrpoLoss loss, long chunkValues) {
        return new ChunkedOrpoLoss(loss, chunkValues, 0, ChunkProbe.NONE);
    }

    /**
     * The same loss on soft-capped logits {@code cap·tanh(z/cap)} (a model's {@code final_logit_softcapping},
     * gemma2/gemma3); null means none. Pass 2 applies the cap's slope {@code 1 − tanh²} to d loss / d logits.
     */
    public ChunkedOrpoLoss withLogitSoftcapping(Double cap) {
        return new ChunkedOrpoLoss(loss, chunkValues, cap == null ? 0 : cap, probe);
    }

    /** The same loss with a probe called at each chunk's memory peak (tests). */
    ChunkedOrpoLoss withProbe(ChunkProbe probe) {
        return new ChunkedOrpoLoss(loss, chunkValues, softcap, probe);
    }

    /**
     * The default rule for training: chunk once the batch's logits, {@code rows·(length−1)·vocab} values, exceed
     * {@link #AUTO_THRESHOLD_VALUES}.
     */
    public static boolean recommended(long rows, long length, long vocab) {
        return rows * Math.max(0, length - 1) * vocab > AUTO_THRESHOLD_VALUES;
    }

    public OrpoLoss loss() {
        return loss;
    }

    public long chunkValues() {
        return chunkValues;
    }

    /** C, positions per chunk at vocabulary size {@code vocab}: chunkValues / V, at least 1. */
    public int chunkTokens(long vocab) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE / vocab, chunkValues / vocab));
    }

    /**
     * The loss and metrics of one micro-batch, as {@link OrpoLoss#compute} on {@code hidden · lmHeadWeightᵀ};
     * {@link #compute(NDArray, NDArray, NDArray, NDArray, NDArray, double)} with gradient scale 1.
     */
    public OrpoLoss.Output compute(
            NDArray hidden, NDArray lmHeadWeight, NDArray inputIds, NDArray attentionMask, NDArray labels) {
        return compute(hidden, lmHeadWeight, inputIds, attentionMask, labels, 1);
    }

    /**
     * The loss and metrics of one micro-batch, as {@link OrpoLoss#compute} on {@code hidden · lmHeadWeightᵀ}.
     * While recording gradients, the LM head's gradient ({@code gradScale ·} d loss / d W) is added straight into
     * W's gradient here, and the returned loss's backward delivers {@code gradScale ·} d loss / d hidden: call
     * backward on it once, unscaled. Gradient accumulation over G micro-batches passes {@code gradScale = 1/G}
     * instead of dividing the loss.
     *
     * @param hidden        [2B, T, H] final hidden states (after the final norm), chosen rows then rejected rows
     * @param lmHeadWeight  [V, H] the LM head (the embedding matrix when tied), same dtype and device
     * @param inputIds      [2B, T] token ids
     * @param attentionMask [2B, T] 1 on tokens, 0 on padding
     * @param labels        [2B, T] completion token ids, {@link OrpoLoss#IGNORE_INDEX} on prompt and padding
     * @param gradScale     factor of every gradient this loss produces (its value is not scaled)
     * @return the scalar loss (attached to the manager of {@code hidden}; call backward on it) and the metrics
     */
    public OrpoLoss.Output compute(NDArray hidden, NDArray lmHeadWeight, NDArray inputIds, NDArray attentionMask,
            NDArray labels, double gradScale) {
        try (NDScope scope = new NDScope()) {
            ShiftedTokens tokens = ShiftedTokens.of(hidden, lmHeadWeight, inputIds, attentionMask, labels,
                    loss.promptLoss());
            NDArray predicting = hidden.get(":, :-1, :").reshape(tokens.count, hidden.getShape().get(2)); // [N, H]
            OrpoLoss.Output out = compute(predicting, lmHeadWeight, tokens, gradScale);
            NDScope.unregister(out.loss());
            out.loss().attach(hidden.getManager());
            return out;
        }
    }

    /**
     * The loss and metrics of shared-prompt pairs from the packed row's hidden states, as
     * {@link #compute(NDArray, NDArray, NDArray, NDArray, NDArray, double)} gives them for the two-row layout
     * ({@code logits/*} over the rows' real positions, see {@link OrpoLoss#compute(NDArray,
     * SharedPromptLayout.Predictions)}).
     *
     * @param hidden       [1, L, H] final hidden states of the packed row
     * @param lmHeadWeight [V, H]
     * @param predictions  the layout's predicting positions, made with this loss's promptLoss
     * @param gradScale    factor of every gradient this loss produces
     */
    public OrpoLoss.Output compute(NDArray hidden, NDArray lmHeadWeight, SharedPromptLayout.Predictions predictions,
            double gradScale) {
        loss.checked(predictions);
        try (NDScope scope = new NDScope()) {
            long width = hidden.getShape().get(2);
            NDManager manager = hidden.getManager();
            NDArray index;
            try (NDArray host = manager.create(predictions.position())) {
                index = Owned.copy(host, DataType.INT64); // the gather's backward reads it
            }
            ShiftedTokens tokens = ShiftedTokens.packed(predictions, lmHeadWeight.getShape().get(0), manager,
                    Casts.wide(hidden.getDataType()));
            NDArray predicting = hidden.reshape(hidden.getShape().get(1), width).get(index); // [N, H]
            OrpoLoss.Output out = compute(predicting, lmHeadWeight, tokens, gradScale);
            NDScope.unregister(out.loss());
            out.loss().attach(hidden.getManager());
            return out;
        }
    }

    /** The three steps on the predicting positions' hidden states [N, H] (on the graph while recording). */
    private OrpoLoss.Output compute(NDArray predicting, NDArray lmHeadWeight, ShiftedTokens tokens,
            double gradScale) {
        // JniUtils.requiresGrad answers only for leaves: hidden states are assumed tracked while recording
        boolean recording = GradMode.isEnabled();
        NDArray flat; // [N, H]
        NDArray weight; // [V, H]
        ChunkedRowStats.Result pass1;
        int chunk = chunkTokens(lmHeadWeight.getShape().get(0));
        try (GradMode off = GradMode.enabled(false)) {
            flat = predicting.stopGradient();
            weight = lmHeadWeight.stopGradient();
            pass1 = ChunkedRowStats.compute(flat, weight, tokens, chunk, softcap, probe);
        }
        RowStats stats = pass1.stats();
        if (!recording) {
            return loss.fromRowStats(stats);
        }
        stats.logpSum().setRequiresGradient(true);
        stats.nllSum().setRequiresGradient(true);
        OrpoLoss.Output out;
        try (GradMode on = GradMode.enabled(true)) {
            out = loss.fromRowStats(stats);
            // seeding backward with gradScale scales g_logp, g_nll and so every gradient of pass 2
            JniUtils.backward((PtNDArray) out.loss(), (PtNDArray) Scalars.onDevice(out.loss(), gradScale),
                    false, false);
        }
        NDArray value = out.loss().stopGradient();
        out.loss().close();
        NDArray headGrad = JniUtils.requiresGrad((PtNDArray) lmHeadWeight)
                ? GradientTensors.of(lmHeadWeight) : null; // [V, H], or null for a frozen head
        NDArray dHidden; // [N, H]
        try (GradMode off = GradMode.enabled(false)) {
            dHidden = ChunkedGradients.compute(flat, weight, headGrad, tokens, pass1.logSumExp(),
                    stats.logpSum().getGradient(), stats.nllSum().getGradient(), chunkValues, softcap, probe);
        }
        // Σ hidden ⊙ dHidden: its value is subtracted again, its backward hands dHidden to the hidden states
        NDArray surrogate = dHidden.mul(predicting).sum();
        return new OrpoLoss.Output(value.add(surrogate.sub(surrogate.stopGradient())), out.metrics());
    }
}
