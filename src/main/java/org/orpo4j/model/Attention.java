package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.FusedAttention;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.Scalars;

/**
 * Grouped-query self-attention ({@code self_attn}): {@code Hq} query heads share {@code Hkv} key/value heads, each
 * K/V head repeated for its group of {@code Hq/Hkv} query heads. The family's parts: q/k/v as three linears or
 * phi3's fused {@code qkv_proj}; qwen3/gemma3's per-head {@code q_norm}/{@code k_norm} before RoPE; the score scale
 * (gemma2/3: {@code query_pre_attn_scalar^-0.5}); gemma2's score soft-cap. Which RoPE (or none) and which window
 * a layer uses, the model hands in per call.
 */
final class Attention extends Module {

    private final int heads; // Hq
    private final int kvHeads; // Hkv
    private final int headDim; // D
    private final float scaling;
    private final Double softcap; // gemma2's attn_logit_softcapping, else null

    /**
     * Score values ([N, Hq, queries, S]) one block of queries may hold in a pass that records nothing (evaluation,
     * the checkpointed forward): 2^24, 64 MB in float32. Recording passes attend to all queries at once, since
     * autograd keeps every block's probabilities anyway. Package-visible so tests can force small blocks.
     */
    static long queryBlockValues = 1L << 24;
    private final Projections qkv; // H -> Hq·D, Hkv·D, Hkv·D
    private final Linear oProj;
    private final RmsNorm qNorm; // qwen3, gemma3; else null
    private final RmsNorm kNorm;

    Attention(ModelConfig config) {
        this.heads = config.numAttentionHeads();
        this.kvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.scaling = (float) config.attentionScaling();
        this.softcap = config.attnLogitSoftcapping();
        long hidden = config.hiddenSize();
        long[] widths = {(long) heads * headDim, (long) kvHeads * headDim, (long) kvHeads * headDim};
        this.qkv = addPart(config.family().fusedProjections() ? Projections.fused(hidden, "qkv_proj", widths)
                : Projections.separate(hidden, config.attentionBias(), new String[] {"q_proj", "k_proj", "v_proj"},
                        widths));
        this.oProj = addChild("o_proj", new Linear((long) heads * headDim, hidden, config.oProjBias()));
        RmsNorm.Style style = config.family().normStyle();
        this.qNorm = config.qkNorm() ? addChild("q_norm", new RmsNorm(headDim, config.rmsNormEps(), style)) : null;
        this.kNorm = config.qkNorm() ? addChild("k_norm", new RmsNorm(headDim, config.rmsNormEps(), style)) : null;
    }

    /**
     * @param x [N, T, H] normalised hidden states
     * @param rope cos/sin [T, R] for this step's positions, or null for a layer without RoPE (smollm3)
     * @param plan what the queries attend to: the whole [N|1, 1, T, S] mask, or the pieces of packed pairs (the
     *     layer's window applied)
     * @param cache the KV cache during generation, else null (then S = T)
     * @return [N, T, H]
     */
    NDArray forward(NDArray x, RotaryEmbedding.Tables rope, AttentionPlan plan, KvCache cache, int layer) {
        long n = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDList projected = qkv.forward(x);
        NDArray q = projected.get(0).reshape(n, t, heads, headDim); // [N, T, Hq, D]
        NDArray k = projected.get(1).reshape(n, t, kvHeads, headDim); // [N, T, Hkv, D]
        NDArray v = projected.get(2).reshape(n, t, kvHeads, headDim); // [N, T, Hkv, D]
        if (qNorm != null) {
            q = qNorm.forward(q);
            k = kNorm.forward(k);
        }
        q = q.transpose(0, 2, 1, 3); // [N, Hq, T, D]
        k = k.transpose(0, 2, 1, 3); // [N, Hkv, T, D]
        if (rope != null) {
            q = RotaryEmbedding.apply(q, rope);
            k = RotaryEmbedding.apply(k, rope);
        }
        v = v.transpose(0, 2, 1, 3); // [N, Hkv, T, D]
        if (cache != null) {
            NDList kv = cache.append(layer, k, v);
            k = kv.get(0); // [N, Hkv, S, D]
            v = kv.get(1);
        }
        k = repeatKv(k); // [N, Hq, S, D]
        v = repeatKv(v); // [N, Hq, S, D]
        NDArray context = plan.implementation() == AttnImplementation.SDPA && softcap == null
                ? fused(q, k, v, plan) : eager(q, k, v, plan); // [N, Hq, T, D]
        context = context.transpose(0, 2, 1, 3).reshape(n, t, (long) heads * headDim); // [N, T, Hq*D]
        return oProj.forward(context); // [N, T, H]
    }

    /** q [N, Hq, T, D] against k, v [N, Hq, S, D] as the plan says, by separate ops: [N, Hq, T, D]. */
    private NDArray eager(NDArray q, NDArray k, NDArray v, AttentionPlan plan) {
        NDArray context;
        if (plan.pieces() == null) {
            context = attendInBlocks(q, k, v, plan.mask());
        } else { // packed pairs: each piece's queries against its own keys, in token order
            NDList pieces = new NDList();
            for (AttentionPlan.Piece piece : plan.pieces()) {
                String rows = piece.queryStart() + ":" + piece.queryEnd();
                pieces.add(attendInBlocks(q.get(":, :, " + rows), keys(k, piece), keys(v, piece), piece.mask()));
            }
            context = NDArrays.concat(pieces, 2);
        }
        return context;
    }

    /**
     * q [N, Hq, T, D] against k, v [N, Hq, S, D] as the plan says, by torch's fused kernel: [N, Hq, T, D]. A causal
     * plan passes no mask, so the kernel may skip the hidden blocks.
     */
    private NDArray fused(NDArray q, NDArray k, NDArray v, AttentionPlan plan) {
        if (plan.pieces() == null) {
            return FusedAttention.attend(q, k, v, plan.causal() ? null : plan.mask(), plan.causal(), scaling);
        }
        NDList pieces = new NDList();
        for (AttentionPlan.Piece piece : plan.pieces()) {
            pieces.add(fusedPiece(q, keys(k, piece), keys(v, piece), piece));
        }
        return NDArrays.concat(pieces, 2);
    }

    /**
     * One piece's rows [N, Hq, Tq, D] from its keys and values [N, Hq, Tk, D]. A causal piece whose keys are at most
     * twice its queries (a prompt no longer than its answer, or the prompt with its chosen answer, Tk = Tq) runs all
     * Tk key tokens as queries masked by position, Tk²/2 scores instead of the mask's Tq·Tk, and keeps the last Tq
     * rows; the other rows get no gradient.
     */
    private NDArray fusedPiece(NDArray q, NDArray k, NDArray v, AttentionPlan.Piece piece) {
        long tq = piece.queryEnd() - piece.queryStart();
        long tk = k.getShape().get(2);
        if (!piece.causal() || tk > 2 * tq) {
            String rows = piece.queryStart() + ":" + piece.queryEnd();
            return FusedAttention.attend(q.get(":, :, " + rows), k, v, piece.mask(), false, scaling);
        }
        NDArray context = FusedAttention.attend(keys(q, piece), k, v, null, true, scaling); // [N, Hq, Tk, D]
        return tk == tq ? context : context.get(":, :, " + (tk - tq) + ":");
    }

    /**
     * q [N, Hq, Tq, D] against k, v [N, Hq, S, D] under mask [N|1, 1, Tq, S]: at once while recording, else one
     * block of queries' scores at a time (each row's softmax as a whole).
     */
    private NDArray attendInBlocks(NDArray q, NDArray k, NDArray v, NDArray mask) {
        long n = q.getShape().get(0);
        long t = q.getShape().get(2);
        long s = k.getShape().get(2);
        NDArray kT = k.transpose(0, 1, 3, 2); // [N, Hq, D, S]
        long block = Math.max(1, queryBlockValues / Math.max(1, n * heads * s)); // queries per block
        if (GradMode.isEnabled() || block >= t) {
            return attend(q, kT, v, mask);
        }
        NDList blocks = new NDList();
        for (long q0 = 0; q0 < t; q0 += block) {
            String rows = q0 + ":" + Math.min(t, q0 + block);
            blocks.add(attend(q.get(":, :, " + rows), kT, v, mask.get(":, :, " + rows)));
        }
        return NDArrays.concat(blocks, 2);
    }

    /** The keys (or values) [N, Hq, S, D] a piece sees: its key ranges along S, concatenated. */
    private static NDArray keys(NDArray kv, AttentionPlan.Piece piece) {
        int[][] ranges = piece.keyRanges();
        if (ranges.length == 1) {
            return kv.get(":, :, " + ranges[0][0] + ":" + ranges[0][1]);
        }
        NDList parts = new NDList(ranges.length);
        for (int[] r : ranges) {
            parts.add(kv.get(":, :, " + r[0] + ":" + r[1]));
        }
        return NDArrays.concat(parts, 2);
    }

    /**
     * Scores in float32 (HF's softmax dtype), scaled, soft-capped ({@code cap·tanh(s/cap)}, gemma2) and masked,
     * softmax, then the weighted values: for q [N, Hq, Tq, D], kT [N, Hq, D, S], v [N, Hq, S, D] and mask rows
     * [N|1, 1, Tq, S]. The scores are released at once: autograd keeps only the softmax output (and its half copy
     * under mixed precision), plus the tanh under a soft-cap.
     */
    private NDArray attend(NDArray q, NDArray kT, NDArray v, NDArray mask) {
        NDArray scores = q.matMul(kT); // [N, Hq, Tq, S] in the weights' dtype
        NDArray scores32 = Casts.to(scores, DataType.FLOAT32);
        NDArray logits = scores32.muli(Scalars.like(scores32, scaling)); // in place: scores32 itself
        if (softcap != null) {
            try (NDArray tanh = logits.divi(Scalars.like(logits, softcap)).tanh()) {
                logits = tanh.mul(Scalars.like(tanh, softcap));
            }
        }
        NDArray weights = Casts.to(logits.addi(mask).softmax(-1), v.getDataType()); // [N, Hq, Tq, S]
        scores.close();
        scores32.close();
        if (logits != scores32) {
            logits.close();
        }
        return weights.matMul(v); // [N, Hq, Tq, D]
    }

    /** HF's {@code repeat_kv}: [N, Hkv, S, D] -> [N, Hq, S, D], K/V head {@code h} serving query heads hg..hg+g-1. */
    private NDArray repeatKv(NDArray kv) {
        int group = heads / kvHeads;
        if (group == 1) {
            return kv;
        }
        var s = kv.getShape();
        return kv.expandDims(2).repeat(2, group).reshape(s.get(0), (long) heads, s.get(2), s.get(3));
    }
}
