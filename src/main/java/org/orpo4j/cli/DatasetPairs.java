package org.orpo4j.cli;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.List;
import org.orpo4j.data.PreferenceBatch;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.train.MicroBatch;
import org.orpo4j.train.PairSource;

/** A loaded {@link PreferenceDataset} as the trainer's {@link PairSource}. */
final class DatasetPairs implements PairSource {

    private final PreferenceDataset dataset;

    DatasetPairs(PreferenceDataset dataset) {
        this.dataset = dataset;
    }

    @Override
    public int size() {
        return dataset.size();
    }

    @Override
    public List<int[]> batches(int batchSize, int epoch, long seed, boolean shuffle, boolean groupByLength) {
        return dataset.batches(batchSize, epoch, seed, shuffle, groupByLength);
    }

    @Override
    public MicroBatch collate(int[] rows, NDManager manager) {
        PreferenceBatch batch = dataset.collate(rows);
        NDList arrays = batch.toNDList(manager); // [2B, T] each: input_ids, attention_mask, labels
        return new MicroBatch(arrays.get(0), arrays.get(1), arrays.get(2), batch.pairs(), batch.tokens());
    }
}
