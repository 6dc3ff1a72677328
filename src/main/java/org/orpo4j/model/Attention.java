package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.Scalars;

/**
 * Grouped-query self-attention ({@code self_attn}): {@code Hq} query heads share {@code Hkv} key/value heads, each
 * K/V head repeated for its group of {@code Hq/Hkv} query heads. Qwen2 adds q/k/v biases; Qwen3 normalises each
 * query and key head ({@code q_norm}, {@code k_norm}) before RoPE and states {@code head_dim} explicitly.
 */
final class Attention extends Module {

    private final int heads; // Hq
    private final int kvHeads; // Hkv
    private final int headDim; // D
    private final float scaling; // 1/sqrt(D)

    /**
     * Score values ([N, Hq, queries, S]) one block of queries may hold in a pass that records nothing (evaluation,
     * the checkpointed forward): 2^24, 64 MB in float32. Recording passes attend to all queries at once, since
     * autograd keeps every block's probabilities anyway. Package-visible so tests can force small blocks.
     */
    static long queryBlockValues = 1L << 24;
    private final Linear qProj;
    private final Linear kProj;
    private final Linear vProj;
    private final Linear oProj;
    private final RmsNorm qNorm; // qwen3 only, else null
    private final RmsNorm kNorm;

    Attention(ModelConfig config) {
        this.heads = config.numAttentionHeads();
        this.kvHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        this.scaling = (float) Math.pow(headDim, -0.5);
        long hidden = config.hiddenSize();
        boolean bias = config.attentionBias();
        this.qProj = addChild("q_proj", new Linear(hidden, (long) heads * headDim, bias));
        this.kProj = addChild("k_proj", new Linear(hidden, (long) kvHeads * headDim, bias));
        this.vProj = addChild("v_proj", new Linear(hidden, (long) kvHeads * headDim, bias));
        this.oProj = addChild("o_proj", new Linear((long) heads * headDim, hidden, config.oProjBias()));
        this.qNorm = config.qkNorm() ? addChild("q_norm", new RmsNorm(headDim, config.rmsNormEps())) : null;
        this.kNorm = config.qkNorm() ? addChild("k_norm", new RmsNorm(headDim, config.rmsNormEps())) : null;
    }

    /**
     * @param x [N, T, H] normalised hidden states
     * @param rope cos/sin [T, D] for this step's positions
     * @param mask [N or 1, 1, T, S] additive float32 mask
     * @param cache the KV cache during generation, else null (then S = T)
     * @return [N, T, H]
     */
    NDArray forward(NDArray x, RotaryEmbedding.Tables rope, NDArray mask, KvCache cache, int layer) {
        long n = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray q = qProj.forward(x).reshape(n, t, heads, headDim); // [N, T, Hq, D]
        NDArray k = kProj.forward(x).reshape(n, t, kvHeads, headDim); // [N, T, Hkv, D]
        NDArray v = vProj.forward(x).reshape(n, t, kvHeads, headDim); // [N, T, Hkv, D]
        if (qNorm != null) {
            q = qNorm.forward(q);
            k = kNorm.forward(k);
        }
        q = RotaryEmbedding.apply(q.transpose(0, 2, 1, 3), rope); // [N, Hq, T, D]
        k = RotaryEmbedding.apply(k.transpose(0, 2, 1, 3), rope); // [N, Hkv, T, D]
        v = v.transpose(0, 2, 1, 3); // [N, Hkv, T, D]
        if (cache != null) {
            NDList kv = cache.append(layer, k, v);
            k = kv.get(0); // [N, Hkv, S, D]
            v = kv.get(1);
        }
        k = repeatKv(k); // [N, Hq, S, D]
        v = repeatKv(v); // [N, Hq, S, D]
        NDArray kT = k.transpose(0, 1, 3, 2); // [N, Hq, D, S]
        long s = k.getShape().get(2);
        long block = Math.max(1, queryBlockValues / Math.max(1, n * heads * s)); // queries per block
        NDArray context; // [N, Hq, T, D]
        if (GradMode.isEnabled() || block >= t) {
            context = attend(q, kT, v, mask);
        } else { // nothing recorded: one block of queries' scores at a time, each row's softmax as a whole
            NDList blocks = new NDList();
            for (long q0 = 0; q0 < t; q0 += block) {
                String rows = q0 + ":" + Math.min(t, q0 + block);
                blocks.add(attend(q.get(":, :, " + rows), kT, v, mask.get(":, :, " + rows)));
            }
            context = NDArrays.concat(blocks, 2);
        }
        context = context.transpose(0, 2, 1, 3).reshape(n, t, (long) heads * headDim); // [N, T, Hq*D]
        return oProj.forward(context); // [N, T, H]
    }

    /**
     * Scores in float32 (HF's softmax dtype), scaled and masked in place, softmax, then the weighted values: for
     * q [N, Hq, Tq, D], kT [N, Hq, D, S], v [N, Hq, S, D] and mask rows [N|1, 1, Tq, S]. The scores are released
     * at once: autograd keeps only the softmax output (and its half copy under mixed precision).
     */
    private NDArray attend(NDArray q, NDArray kT, NDArray v, NDArray mask) {
        NDArray scores = q.matMul(kT); // [N, Hq, Tq, S] in the weights' dtype
        NDArray scores32 = Casts.to(scores, DataType.FLOAT32);
        scores32.muli(Scalars.like(scores32, scaling)).addi(mask);
        NDArray weights = Casts.to(scores32.softmax(-1), v.getDataType()); // [N, Hq, Tq, S]
        scores.close();
        scores32.close();
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
