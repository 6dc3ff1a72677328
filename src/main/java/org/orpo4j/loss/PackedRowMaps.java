package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.runtime.Owned;

/**
 * Shared-prompt pairs: each predicting position belongs to rows by the layout's {@link
 * SharedPromptLayout.Predictions}, written as 0/1 matrices [rows, N] so that the row sums are matrix-vector
 * products (differentiable, and their transposes give each position's gradient weight).
 */
final class PackedRowMaps implements RowMaps {

    private final NDArray completion; // [2B, N]
    private final NDArray completion2; // [2B, N] the rejected answers' first tokens
    private final NDArray nll; // [B, N]
    private final NDArray logits; // [2B, N]

    PackedRowMaps(SharedPromptLayout.Predictions p, int pairs, NDManager manager, DataType type) {
        int n = p.count();
        int rows = 2 * pairs;
        float[] completion = new float[rows * n];
        float[] completion2 = new float[rows * n];
        float[] nll = new float[pairs * n];
        float[] logits = new float[rows * n];
        for (int k = 0; k < n; k++) {
            if (p.labelRow()[k] >= 0) {
                completion[p.labelRow()[k] * n + k] = 1;
            }
            if (p.label2Row()[k] >= 0) {
                completion2[p.label2Row()[k] * n + k] = 1;
            }
            if (p.nllRow()[k] >= 0) {
                nll[p.nllRow()[k] * n + k] = 1;
            }
            for (int row : p.logitsRows()[k]) {
                logits[row * n + k] = 1;
            }
        }
        this.completion = matrix(manager, completion, rows, n, type);
        this.completion2 = matrix(manager, completion2, rows, n, type);
        this.nll = matrix(manager, nll, pairs, n, type);
        this.logits = matrix(manager, logits, rows, n, type);
    }

    private static NDArray matrix(NDManager manager, float[] values, int rows, int n, DataType type) {
        try (NDArray host = manager.create(values, new Shape(rows, n))) {
            return Owned.copy(host, type); // owned by libtorch, on the manager's device
        }
    }

    @Override
    public NDArray logpSum(NDArray labelLogp, NDArray label2Logp) {
        return completion.matMul(labelLogp).add(completion2.matMul(label2Logp)); // [2B]
    }

    @Override
    public NDArray nllSum(NDArray targetLogp) {
        return nll.matMul(targetLogp).neg(); // [B]
    }

    @Override
    public NDArray logitsSum(NDArray positionSums) {
        return logits.matMul(positionSums); // [2B]
    }

    @Override
    public NDArray[] weights(NDArray gradLogp, NDArray gradNll) {
        return new NDArray[] {gradLogp.matMul(completion), gradLogp.matMul(completion2), gradNll.matMul(nll)};
    }
}
