package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import java.util.Collection;

/**
 * The ranks of a data-parallel run as the trainer sees them (HF Trainer + accelerate DDP semantics): each rank
 * trains on its shard of every global batch, the gradients are averaged once per optimizer step, so every rank
 * applies the same update; rank 0 alone writes. {@link #SINGLE} is one process; {@code org.orpo4j.distributed}
 * implements it on c10d's process groups. Every method but {@link #rank()} and {@link #worldSize()} is a
 * collective: all ranks call it, in the same order.
 */
public interface DataParallel {

    /** One process: nothing to exchange. */
    DataParallel SINGLE = new DataParallel() {
        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int worldSize() {
            return 1;
        }

        @Override
        public void averageGradients(Collection<NDArray> params) {}

        @Override
        public void sum(double[] values) {}

        @Override
        public void broadcastFromRankZero(Collection<NDArray> tensors) {}

        @Override
        public void barrier() {}

        @Override
        public void checkSameWeights(Collection<NDArray> params, long step) {}
    };

    int rank();

    int worldSize();

    /** Rank 0 writes logs, checkpoints and the final model; the others write nothing. */
    default boolean writes() {
        return rank() == 0;
    }

    /** Replaces every parameter's gradient by its mean over the ranks (one bucketed all-reduce). */
    void averageGradients(Collection<NDArray> params);

    /** Replaces {@code values} by their element-wise sums over the ranks. */
    void sum(double[] values);

    /** Every rank's {@code tensors} take rank 0's values (DDP's start: one set of weights). */
    void broadcastFromRankZero(Collection<NDArray> tensors);

    /** Returns when every rank has called it. */
    void barrier();

    /**
     * Throws when the ranks' {@code params} differ (a cheap checksum compared across ranks): data-parallel steps
     * keep them identical, so a difference is a bug or a broken rank, and training on would waste the run.
     */
    void checkSameWeights(Collection<NDArray> params, long step);
}
