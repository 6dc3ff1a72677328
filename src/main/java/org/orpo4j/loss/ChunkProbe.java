package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;

/**
 * Called at the end of each chunk of the chunked loss, while all of that chunk's temporaries are still alive: the
 * moment of the chunk's peak memory. Lets tests check what is live then; production code never sets one.
 */
@FunctionalInterface
interface ChunkProbe {

    /** @param pass 1 (row sums) or 2 (gradients); @param logits this chunk's [C, V] logits (pass 1) or dLogits (2) */
    void atChunkPeak(int pass, NDArray logits);

    ChunkProbe NONE = (pass, logits) -> {};
}
