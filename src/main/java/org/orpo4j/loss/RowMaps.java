package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;

/**
 * How the N predicting positions of a micro-batch map onto the 2B rows of the ORPO loss: which row's log-prob sum
 * takes each position's label (and, for shared-prompt pairs, the rejected answer's first token at the prompt's last
 * position), which chosen row's NLL takes its target, and which rows count its logits in the metrics. The row sums
 * and, backwards, each position's share of the rows' gradients.
 */
interface RowMaps {

    /** Σ per row of the label log-probs: [N] (and [N] second labels, or null) -> [2B]. */
    NDArray logpSum(NDArray labelLogp, NDArray label2Logp);

    /** −Σ per chosen row of the NLL targets' log-probs: [N] -> [B]. */
    NDArray nllSum(NDArray targetLogp);

    /** Σ per row of each position's Σ_v logits: [N] -> [2B] (metrics only). */
    NDArray logitsSum(NDArray positionSums);

    /**
     * Each position's weight on its label, second label and NLL target given d loss / d logpSum [2B] and
     * d loss / d nllSum [B]: [N] each (the second null when there are no second labels).
     */
    NDArray[] weights(NDArray gradLogp, NDArray gradNll);
}
