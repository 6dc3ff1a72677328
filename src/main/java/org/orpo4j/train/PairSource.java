package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * What the trainer reads: tokenized preference pairs that can be ordered into micro-batches per epoch and collated
 * into TRL's concatenated {@code [2B, T]} batch. {@link #batches} must be a pure function of its arguments: a
 * resumed run re-derives the order of an epoch from (seed, epoch) and skips the micro-batches already consumed.
 */
public interface PairSource {

    /** Number of pairs. */
    int size();

    /** The micro-batches of {@code epoch} as row indices (the last may be smaller). */
    List<int[]> batches(int batchSize, int epoch, long seed, boolean shuffle, boolean groupByLength);

    /** The rows as one batch: chosen rows then rejected rows, right-padded, on {@code manager}'s device. */
    MicroBatch collate(int[] rows, NDManager manager);
}
