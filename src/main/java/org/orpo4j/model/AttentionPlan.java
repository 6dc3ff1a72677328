package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What one layer's queries attend to in one forward, and with which kernel: every query against every key under
 * one additive mask (the two-row layout, generation), or piece by piece for shared-prompt pairs, each piece a run
 * of queries against the keys it may see (the prompt and its own answer), so no score is computed for a pair of
 * tokens that can never meet.
 *
 * @param causal the mask hides exactly the keys after each query (no padding, window or cache): a fused kernel
 *     may then mask by position instead of reading the mask
 */
record AttentionPlan(NDArray mask, List<Piece> pieces, boolean causal, AttnImplementation implementation) {

    /**
     * Queries {@code [queryStart, queryEnd)} over the keys of {@code keyRanges} ({from, to} each) with their mask
     * [1, 1, Tq, Tk].
     *
     * @param causal the queries are the last Tq keys and the mask hides exactly the keys after each query (no
     *     window, no padding, positions in key order): the keys' own tokens as queries, masked by position, give
     *     these queries' rows without a mask
     */
    record Piece(int queryStart, int queryEnd, int[][] keyRanges, NDArray mask, boolean causal) {}

    /** All queries, all keys, mask [N|1, 1, T, S]. */
    static AttentionPlan whole(NDArray mask, boolean causal, AttnImplementation implementation) {
        return new AttentionPlan(mask, null, causal, implementation);
    }

    static AttentionPlan pieces(List<Piece> pieces, AttnImplementation implementation) {
        return new AttentionPlan(null, pieces, false, implementation);
    }
}
