package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The additive attention mask: 0 where query {@code i} may see key {@code j}, {@code -Float.MAX_VALUE} elsewhere,
 * exactly like HF's eager path (finite, so softmax never sees a row of -inf and never makes NaN; a fully padded
 * row ends up with uniform weights, which only ever reach positions the loss ignores).
 *
 * <p>Key {@code j} is visible to the query at absolute position {@code p} when {@code j <= p} (causal), the key is
 * not padding, and, with a sliding window {@code w}, {@code p - j < w} (tested as {@code j + w > p}, so no [T, S]
 * array of differences is made). Masks are built by broadcasting in native memory: a long packed row's [Tq, Tk]
 * mask would not fit a Java array (2^31 elements at 46k tokens).
 */
final class AttentionMask {

    private AttentionMask() {}

    /**
     * @param keyMask [N, S] 1 for real tokens, 0 for padding (S = past + T), or null when nothing is padded
     * @param past positions already in the KV cache; queries sit at {@code past .. past+T-1}
     * @return [N or 1, 1, T, S] float32 in {@code manager}
     */
    static NDArray build(NDManager manager, NDArray keyMask, long past, long queries, Integer slidingWindow) {
        long keys = past + queries;
        NDArray queryPos = manager.arange(past, keys, 1, DataType.INT64).reshape(queries, 1); // [T, 1]
        NDArray keyPos = manager.arange(0, keys, 1, DataType.INT64).reshape(1, keys); // [1, S]
        NDArray visible = keyPos.lte(queryPos); // [T, S] causal
        if (slidingWindow != null) {
            visible = visible.logicalAnd(keyPos.add(slidingWindow).gt(queryPos)); // [T, S]
        }
        visible = visible.reshape(1, 1, queries, keys); // [1, 1, T, S]
        if (keyMask != null) {
            long n = keyMask.getShape().get(0);
            NDArray realKey = keyMask.toType(DataType.INT64, false).gt(0).reshape(n, 1, 1, keys); // [N, 1, 1, S]
            visible = realKey.logicalAnd(visible); // [N, 1, T, S]
        }
        return additive(visible);
    }

    /** visible -> 0, hidden -> -FLT_MAX: (v - 1) * FLT_MAX, in place on the one float32 copy. */
    private static NDArray additive(NDArray visible) {
        return visible.toType(DataType.FLOAT32, false).subi(1f).muli(Float.MAX_VALUE);
    }

    /**
     * The mask of one piece of a packed row: key {@code k} is visible to query {@code q} when its position is not
     * after the query's and, with a window {@code w}, {@code pos(q) - pos(k) < w}; the last {@code paddingKeys}
     * keys are padding, never visible.
     *
     * @return [1, 1, Tq, Tk] float32 in {@code manager}
     */
    static NDArray build(NDManager manager, long[] queryPositions, long[] keyPositions, Integer slidingWindow,
            int paddingKeys) {
        int tq = queryPositions.length;
        int tk = keyPositions.length;
        NDArray queryPos = manager.create(queryPositions, new Shape(tq, 1)); // [Tq, 1]
        NDArray keyPos = manager.create(keyPositions, new Shape(1, tk)); // [1, Tk]
        NDArray visible = keyPos.lte(queryPos); // [Tq, Tk]
        if (slidingWindow != null) {
            visible = visible.logicalAnd(keyPos.add(slidingWindow).gt(queryPos));
        }
        if (paddingKeys > 0) {
            boolean[] real = new boolean[tk];
            java.util.Arrays.fill(real, 0, tk - paddingKeys, true);
            visible = visible.logicalAnd(manager.create(real, new Shape(1, tk)));
        }
        return additive(visible.reshape(1, 1, tq, tk));
    }
}
