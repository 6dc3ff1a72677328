package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What one layer's queries attend to in one forward: every query against every key under one additive mask (the
 * two-row layout, generation), or piece by piece for shared-prompt pairs, each piece a run of queries against the
 * keys it may see (the prompt and its own answer), so no score is computed for a pair of tokens that can never
 * meet.
 */
record AttentionPlan(NDArray mask, List<Piece> pieces) {

    /**
     * Queries {@code [queryStart, queryEnd)} over the keys of {@code keyRanges} ({from, to} each) with their mask
     * [1, 1, Tq, Tk].
     */
    record Piece(int queryStart, int queryEnd, int[][] keyRanges, NDArray mask) {}

    /** All queries, all keys, mask [N|1, 1, T, S]. */
    static AttentionPlan whole(NDArray mask) {
        return new AttentionPlan(mask, null);
    }

    static AttentionPlan pieces(List<Piece> pieces) {
        return new AttentionPlan(null, pieces);
    }
}
