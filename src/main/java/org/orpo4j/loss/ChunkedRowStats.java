package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import org.orpo4j.runtime.Casts;

/**
 * Pass 1 of the chunked loss: the {@link RowStats} sums from hidden states, C positions at a time. Each chunk's
 * logits [C, V] and log-softmax live only inside the chunk; what survives is three numbers per position (the
 * target log-probs and the logits' sum), reduced per row exactly as {@link LogitsRowStats} does, plus each
 * position's log-sum-exp for pass 2. Run it with gradients off on detached inputs: the sums it returns are leaves.
 */
final class ChunkedRowStats {

    /** @param logSumExp [N] log Σ_v exp(z_v) per predicting position, so that pass 2 gets p = exp(z − lse) */
    record Result(RowStats stats, NDArray logSumExp) {}

    private ChunkedRowStats() {}

    /**
     * @param hidden [N, H] the predicting positions' hidden states, detached
     * @param weight [V, H] the LM head, detached
     * @param chunk  C, positions per chunk
     * @param softcap the logits' soft-cap {@code cap·tanh(z/cap)}, 0 for none
     */
    static Result compute(NDArray hidden, NDArray weight, ShiftedTokens tokens, int chunk, double softcap,
            ChunkProbe probe) {
        long n = tokens.count;
        NDList labelLogp = new NDList(); // [C] each
        NDList label2Logp = new NDList();
        NDList targetLogp = new NDList();
        NDList logitsSums = new NDList();
        NDList logSumExps = new NDList();
        try {
            for (long start = 0; start < n; start += chunk) {
                NDIndex range = new NDIndex().addSliceDim(start, Math.min(n, start + chunk));
                try (NDScope scope = new NDScope()) {
                    NDArray h = hidden.get(range); // [C, H]
                    // [C, V], widened to float32 when the model runs in half precision
                    NDArray logits = Casts.widen(h.getNDArrayInternal().linear(h, weight, null).singletonOrThrow());
                    if (softcap > 0) {
                        logits = logits.divi(softcap).tanh().muli(softcap);
                    }
                    NDArray logp = logits.logSoftmax(-1); // [C, V]
                    NDArray label = logp.gather(tokens.labels.get(range).expandDims(-1), -1).squeeze(-1); // [C]
                    NDArray target = logp.gather(tokens.nllTargets.get(range).expandDims(-1), -1).squeeze(-1);
                    NDArray label2 = tokens.labels2 == null ? null
                            : logp.gather(tokens.labels2.get(range).expandDims(-1), -1).squeeze(-1);
                    NDArray sum = logits.sum(new int[] {1}); // [C]
                    // both maxima sit at the same v, where log p = −log Σ exp(z − max) exactly as log_softmax has it
                    NDArray lse = logits.max(new int[] {1}).sub(logp.max(new int[] {1})); // [C]
                    probe.atChunkPeak(1, logits);
                    NDScope.unregister(label, target, sum, lse);
                    if (label2 != null) {
                        NDScope.unregister(label2);
                        label2Logp.add(label2);
                    }
                    labelLogp.add(label);
                    targetLogp.add(target);
                    logitsSums.add(sum);
                    logSumExps.add(lse);
                }
            }
            NDArray logpSum = tokens.maps.logpSum(NDArrays.concat(labelLogp),
                    label2Logp.isEmpty() ? null : NDArrays.concat(label2Logp)); // [2B]
            NDArray nllSum = tokens.maps.nllSum(NDArrays.concat(targetLogp)); // [B]
            NDArray logitsSum = tokens.maps.logitsSum(NDArrays.concat(logitsSums)); // [2B]
            return new Result(new RowStats(logpSum, tokens.completionTokens, nllSum, tokens.nllTokens, logitsSum,
                    tokens.logitsValues), NDArrays.concat(logSumExps));
        } finally {
            labelLogp.close();
            label2Logp.close();
            targetLogp.close();
            logitsSums.close();
            logSumExps.close();
        }
    }
}
