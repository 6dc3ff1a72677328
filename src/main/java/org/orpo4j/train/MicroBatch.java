package org.orpo4j.train;

import ai.djl.ndarray.NDArray;

/**
 * One collated micro-batch of {@code pairs} preference pairs (TRL's concatenated batch, docs/training.md).
 *
 * @param inputIds      [2B, T] int64, chosen rows then rejected rows, right-padded
 * @param attentionMask [2B, T] int64, 1 on tokens, 0 on pads
 * @param labels        [2B, T] int64, -100 on prompt and pad positions
 * @param pairs         B
 * @param tokens        non-pad tokens (for tokens/s)
 */
public record MicroBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, int pairs, long tokens) {}
