package org.orpo4j.loss;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Stage 1 from full logits: shift by one (logits[:, :-1] predict tokens[:, 1:]), log-softmax, gather the target
 * log-probs and sum them per row. Intermediates live in an {@link NDScope} and are closed on return; the three
 * result arrays are attached to the logits' manager.
 */
final class LogitsRowStats {

    private LogitsRowStats() {}

    static RowStats compute(
            NDArray logits, NDArray inputIds, NDArray attentionMask, NDArray labels, boolean promptLoss) {
        Shape shape = InputChecks.check(logits, inputIds, attentionMask, labels);
        int rows = (int) shape.get(0);
        int pairs = rows / 2;
        long vocab = shape.get(2);
        NDManager owner = logits.getManager();
        Device device = logits.getDevice();
        DataType type = logits.getDataType();
        try (NDScope scope = new NDScope()) {
            NDIndex next = new NDIndex(":, 1:");
            NDArray ids = InputChecks.tokens(inputIds, device).get(next); // [2B, T-1] the token each position predicts
            NDArray real = attentionMask.toDevice(device, false).get(next).neq(0); // [2B, T-1] not padding
            NDArray lab = InputChecks.tokens(labels, device).get(next); // [2B, T-1]
            NDArray completion = lab.neq(OrpoLoss.IGNORE_INDEX); // [2B, T-1]
            NDArray safeLabels = NDArrays.where(completion, lab, lab.zerosLike()); // -100 -> 0, masked out below
            NDArray safeIds = NDArrays.where(real, ids, ids.zerosLike());
            NDArray nllMask = promptLoss ? real : completion;

            InputChecks.TokenCounts counts = InputChecks.countAndCheck(
                    completion, nllMask.get(new NDIndex().addSliceDim(0, pairs)), safeLabels, safeIds, vocab);
            long[] completionTokens = counts.completion();
            long[] nllTokens = counts.nll();
            int[] perRow = {1};

            NDArray shifted = logits.get(":, :-1, :"); // [2B, T-1, V]
            NDArray logp = shifted.logSoftmax(-1); // [2B, T-1, V]
            NDArray labelLogp = logp.gather(safeLabels.expandDims(-1), -1).squeeze(-1); // [2B, T-1]
            NDArray logpSum = labelLogp.mul(completion.toType(type, false)).sum(perRow); // [2B]
            NDArray nllSum; // [B]
            NDIndex chosen = new NDIndex().addSliceDim(0, pairs);
            if (promptLoss) {
                NDArray targets = safeIds.get(chosen).expandDims(-1); // [B, T-1, 1]
                NDArray idLogp = logp.get(chosen).gather(targets, -1).squeeze(-1); // [B, T-1]
                nllSum = idLogp.mul(real.get(chosen).toType(type, false)).sum(perRow).neg();
            } else {
                nllSum = logpSum.get(chosen).neg();
            }
            NDArray logitsSum = shifted.stopGradient().sum(new int[] {1, 2}); // [2B]
            NDScope.unregister(logpSum, nllSum, logitsSum);
            owner.attachAll(logpSum, nllSum, logitsSum);
            return new RowStats(logpSum, completionTokens, nllSum, nllTokens, logitsSum, (shape.get(1) - 1) * vocab);
        }
    }




}
