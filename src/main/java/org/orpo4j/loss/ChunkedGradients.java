package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import org.orpo4j.runtime.Casts;

/**
 * Pass 2 of the chunked loss: the gradients of the loss w.r.t. the hidden states and the LM head, assembled from
 * the upstream gradients of the row sums. For position n of row r with logits z = h·Wᵀ and p = softmax(z), the
 * row sums are linear in log p(label) and log p(target), so
 * <pre>
 *   dz = a·onehot(label) − b·onehot(target) + (b − a)·p,   a = g_logp[r]·completion[n],  b = g_nll[r]·nllMask[n]
 *   dh = dz·W          W.grad += dzᵀ·h
 * </pre>
 * ({@code logitsSum} feeds metrics only and has no gradient); {@link RowMaps#weights} gives a and b per
 * position. At a shared prompt's last position a second label (the rejected answer's first token) adds
 * {@code a2·onehot(label2)} and {@code −a2·p}. Under a soft-cap the logits are
 * {@code zc = cap·tanh(z/cap)}: p comes from zc and dz is multiplied by the slope {@code 1 − tanh²(z/cap)}. With pass 1's log-sum-exp, p = exp(z − lse) needs
 * no whole row, so this pass walks the vocabulary in blocks of Vb rows of W, all N positions at once: each block's
 * dz [N, Vb] feeds two long matmuls (over Vb for dh, over N for W.grad) instead of many thin ones, and the head
 * gradient goes straight into W's gradient tensor, so no [V, H] buffer is ever allocated here. Run with gradients
 * off on detached inputs.
 */
final class ChunkedGradients {

    private ChunkedGradients() {}

    /**
     * @param hidden      [N, H] detached hidden states of the predicting positions
     * @param weight      [V, H] detached LM head
     * @param headGrad    [V, H] W's own gradient tensor, added to in place; null when W is not trained
     * @param logSumExp   [N] pass 1's log Σ exp(z) per position
     * @param gradLogp    [2B] d loss / d logpSum (already times the caller's gradient scale)
     * @param gradNll     [B] d loss / d nllSum (likewise)
     * @param blockValues at most this many values in a block's dz [N, Vb] and in its W.grad product [Vb, H]
     * @param softcap     the logits' soft-cap, 0 for none
     * @return dh [N, H]
     */
    static NDArray compute(NDArray hidden, NDArray weight, NDArray headGrad, ShiftedTokens tokens,
            NDArray logSumExp, NDArray gradLogp, NDArray gradNll, long blockValues, double softcap,
            ChunkProbe probe) {
        long n = tokens.count;
        long vocab = weight.getShape().get(0);
        long width = weight.getShape().get(1);
        NDArray[] w = tokens.maps.weights(gradLogp, gradNll);
        NDArray a = w[0]; // [N] on the label
        NDArray a2 = w[1]; // [N] on the second label (shared-prompt pairs), or null
        NDArray b = w[2]; // [N] on the NLL target
        NDArray softmaxScale = b.sub(a2 == null ? a : a.add(a2)).expandDims(1); // [N, 1]
        NDArray lse = logSumExp.expandDims(1); // [N, 1]
        long block = Math.max(1, Math.min(vocab, blockValues / Math.max(n, width))); // Vb
        NDArray rowStart = hidden.getManager().arange(0, Math.toIntExact(n), 1, DataType.INT64); // [N]
        DataType wide = Casts.wide(hidden.getDataType()); // float32 under mixed precision
        NDArray dh = hidden.getManager().zeros(hidden.getShape(), wide); // [N, H], accumulated over the blocks
        for (long v0 = 0; v0 < vocab; v0 += block) {
            long v1 = Math.min(vocab, v0 + block);
            NDIndex rowsOfW = new NDIndex().addSliceDim(v0, v1);
            try (NDScope scope = new NDScope()) {
                NDArray wBlock = weight.get(rowsOfW); // [Vb, H] view
                NDArray dz; // [N, Vb]
                NDArray slope = null; // d zc / d z under a soft-cap
                try (NDArray z = Casts.widen(hidden.getNDArrayInternal().linear(hidden, wBlock, null).singletonOrThrow())) {
                    NDArray logits = z;
                    if (softcap > 0) {
                        NDArray tanh = z.divi(softcap).tanh();
                        slope = tanh.square().neg().addi(1); // 1 − tanh²
                        logits = tanh.muli(softcap);
                    }
                    dz = logits.subi(lse).exp(); // p
                }
                dz.muli(softmaxScale); // (b − a)·p
                NDArray blockRowStart = rowStart.mul(v1 - v0); // [N] offsets into the flattened block
                addOneHot(dz, blockRowStart, tokens.labels, v0, v1, a);
                if (a2 != null) {
                    addOneHot(dz, blockRowStart, tokens.labels2, v0, v1, a2);
                }
                addOneHot(dz, blockRowStart, tokens.nllTargets, v0, v1, b.neg());
                if (slope != null) {
                    dz.muli(slope);
                }
                NDArray dzw = dz.toType(wBlock.getDataType(), false); // the matmuls run in W's dtype
                dh.addi(dzw.matMul(wBlock)); // [N, Vb]·[Vb, H]
                if (headGrad != null) {
                    headGrad.get(rowsOfW).addi(dzw.transpose().matMul(hidden)); // [Vb, N]·[N, H] into a view of W.grad
                }
                probe.atChunkPeak(2, dz);
            }
        }
        return dh;
    }

    /**
     * dz[n, k[n] − v0] += value[n] for the positions whose token k[n] falls in the block [v0, v1): one entry per
     * position of the flattened block, set in place (the others get +0 at a clamped, harmless index).
     */
    private static void addOneHot(NDArray dz, NDArray rowStart, NDArray tokens, long v0, long v1, NDArray value) {
        NDArray local = tokens.sub(v0); // [N]
        NDArray inBlock = local.gte(0).logicalAnd(local.lt(v1 - v0)).toType(value.getDataType(), false);
        NDArray flat = dz.reshape(-1); // [N·Vb] view
        NDIndex at = new NDIndex("{}", rowStart.add(local.clip(0, v1 - v0 - 1)));
        flat.set(at, flat.get(at).add(value.mul(inBlock)));
    }
}
