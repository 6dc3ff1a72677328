package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import org.orpo4j.layout.SharedPromptLayout;

/**
 * Stage 1 for shared-prompt pairs from the logits of their predicting positions: log-softmax, the targets'
 * log-probs, and the row sums through the layout's {@link PackedRowMaps}. The three results are attached to the
 * logits' manager; everything else is closed on return.
 */
final class PackedLogitsRowStats {

    private PackedLogitsRowStats() {}

    static RowStats compute(NDArray logits, SharedPromptLayout.Predictions predictions) {
        Shape shape = logits.getShape();
        if (shape.dimension() != 2 || shape.get(0) != predictions.count()) {
            throw new IllegalArgumentException("logits have shape " + shape + "; expected [" + predictions.count()
                    + ", V], one row per predicting position");
        }
        NDManager owner = logits.getManager();
        try (NDScope scope = new NDScope()) {
            ShiftedTokens tokens = ShiftedTokens.packed(predictions, shape.get(1), owner, logits.getDataType());
            NDArray logp = logits.logSoftmax(-1); // [N, V]
            NDArray logpSum = tokens.maps.logpSum(gather(logp, tokens.labels), gather(logp, tokens.labels2)); // [2B]
            NDArray nllSum = tokens.maps.nllSum(gather(logp, tokens.nllTargets)); // [B]
            NDArray logitsSum = tokens.maps.logitsSum(logits.stopGradient().sum(new int[] {1})); // [2B]
            NDScope.unregister(logpSum, nllSum, logitsSum);
            owner.attachAll(logpSum, nllSum, logitsSum);
            return new RowStats(logpSum, tokens.completionTokens, nllSum, tokens.nllTokens, logitsSum,
                    tokens.logitsValues);
        }
    }

    /** logp[n, token[n]] for each position: [N]. */
    private static NDArray gather(NDArray logp, NDArray tokens) {
        return logp.gather(tokens.expandDims(-1), -1).squeeze(-1);
    }
}
