package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;

/**
 * The two-row layout: 2B right-padded rows of T positions, position t of row r at n = r·(T−1) + t; a row's sums
 * are masked sums over its own positions, padding included in the logits sum (as TRL).
 */
final class PaddedRowMaps implements RowMaps {

    private final int rows; // 2B
    private final long positions; // T − 1
    private final NDArray completion; // [2B, T-1] 1 on completion tokens
    private final NDArray nllMask; // [B, T-1] 1 on the chosen rows' NLL tokens

    PaddedRowMaps(int rows, long positions, NDArray completion, NDArray nllMask) {
        this.rows = rows;
        this.positions = positions;
        this.completion = completion;
        this.nllMask = nllMask;
    }

    @Override
    public NDArray logpSum(NDArray labelLogp, NDArray label2Logp) {
        return labelLogp.reshape(rows, positions).mul(completion).sum(new int[] {1}); // [2B]
    }

    @Override
    public NDArray nllSum(NDArray targetLogp) {
        NDIndex chosen = new NDIndex().addSliceDim(0, rows / 2);
        return targetLogp.reshape(rows, positions).get(chosen).mul(nllMask).sum(new int[] {1}).neg(); // [B]
    }

    @Override
    public NDArray logitsSum(NDArray positionSums) {
        return positionSums.reshape(rows, positions).sum(new int[] {1}); // [2B]
    }

    @Override
    public NDArray[] weights(NDArray gradLogp, NDArray gradNll) {
        long n = rows * positions;
        NDArray a = completion.mul(gradLogp.reshape(rows, 1)).reshape(n); // [N]
        NDArray b = NDArrays.concat(new NDList(nllMask.mul(gradNll.reshape(rows / 2, 1)),
                        nllMask.zerosLike())) // rejected rows carry no NLL
                .reshape(n); // [N]
        return new NDArray[] {a, null, b};
    }
}
