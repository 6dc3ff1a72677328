package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

/**
 * Pass 2 of the chunked loss: the gradients of the loss w.r.t. the hidden states and the LM head, assembled chunk
 * by chunk from the upstream gradients of the row sums. For position n of row r with logits z = h·Wᵀ and
 * p = softmax(z), the row sums are linear in log p(label) and log p(target), so
 * <pre>
 *   dz = a·onehot(label) − b·onehot(target) + (b − a)·p,   a = g_logp[r]·completion[n],  b = g_nll[r]·nllMask[n]
 *   dh = dz·W          W.grad += dzᵀ·h
 * </pre>
 * ({@code logitsSum} feeds metrics only and has no gradient). The head gradient goes straight into W's gradient
 * tensor, block by block, so no [V, H] buffer is ever allocated here. Run with gradients off on detached inputs.
 */
final class ChunkedGradients {

    private ChunkedGradients() {}

    /**
     * @param hidden      [N, H] detached hidden states of the predicting positions
     * @param weight      [V, H] detached LM head
     * @param headGrad    [V, H] W's own gradient tensor, added to in place; null when W is not trained
     * @param gradLogp    [2B] d loss / d logpSum (already times the caller's gradient scale)
     * @param gradNll     [B] d loss / d nllSum (likewise)
     * @param chunk       C, positions per chunk; also sizes the vocabulary blocks of W.grad (≤ C·V values each)
     * @return dh [N, H]
     */
    static NDArray compute(NDArray hidden, NDArray weight, NDArray headGrad, ShiftedTokens tokens,
            NDArray gradLogp, NDArray gradNll, int chunk, ChunkProbe probe) {
        long n = tokens.count();
        long vocab = weight.getShape().get(0);
        long width = weight.getShape().get(1);
        int rows = tokens.rows;
        int pairs = tokens.pairs();
        NDArray a = tokens.completion.mul(gradLogp.reshape(rows, 1)).reshape(n); // [N]
        NDArray b = NDArrays.concat(new NDList(tokens.nllMask.mul(gradNll.reshape(pairs, 1)),
                        tokens.nllMask.zerosLike())) // rejected rows carry no NLL
                .reshape(n); // [N]
        NDArray softmaxScale = b.sub(a); // [N]
        long vocabBlock = Math.max(1, (long) chunk * vocab / width);
        NDList dHidden = new NDList(); // [C, H] each
        try {
            for (long start = 0; start < n; start += chunk) {
                long end = Math.min(n, start + chunk);
                NDIndex range = new NDIndex().addSliceDim(start, end);
                try (NDScope scope = new NDScope()) {
                    NDArray h = hidden.get(range); // [C, H]
                    NDArray dz; // [C, V]
                    try (NDArray logits = h.getNDArrayInternal().linear(h, weight, null).singletonOrThrow()) {
                        dz = logits.softmax(-1);
                    }
                    dz.muli(softmaxScale.get(range).expandDims(1));
                    // the one-hot terms: two entries per position of the flattened chunk, set in place
                    NDArray flat = dz.reshape(-1); // [C·V] view
                    NDArray rowStart = flat.getManager()
                            .arange(0, Math.toIntExact(end - start), 1, DataType.INT64).mul(vocab); // [C]
                    NDIndex atLabel = new NDIndex("{}", rowStart.add(tokens.labels.get(range)));
                    flat.set(atLabel, flat.get(atLabel).add(a.get(range)));
                    NDIndex atTarget = new NDIndex("{}", rowStart.add(tokens.nllTargets.get(range)));
                    flat.set(atTarget, flat.get(atTarget).sub(b.get(range)));
                    NDArray dh = dz.matMul(weight); // [C, H]
                    NDScope.unregister(dh);
                    dHidden.add(dh);
                    if (headGrad != null) {
                        for (long v0 = 0; v0 < vocab; v0 += vocabBlock) {
                            long v1 = Math.min(vocab, v0 + vocabBlock);
                            // one block's product at a time: a scope per block, not per chunk
                            try (NDScope block = new NDScope()) {
                                NDArray dzBlock = dz.get(new NDIndex().addAllDim().addSliceDim(v0, v1)); // [C, Vb]
                                // [Vb, H] view of W.grad += [Vb, C]·[C, H]
                                headGrad.get(new NDIndex().addSliceDim(v0, v1)).addi(dzBlock.transpose().matMul(h));
                            }
                        }
                    }
                    probe.atChunkPeak(2, dz);
                }
            }
            return NDArrays.concat(dHidden);
        } finally {
            dHidden.close();
        }
    }
}
