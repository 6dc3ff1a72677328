package org.orpo4j.train;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.orpo4j.data.PreferenceBatch;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.layout.SharedPromptLayout;

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

    /**
     * The rows in the shared-prompt layout (each pair {@code [prompt | chosen | rejected]}, packed), or empty when
     * this source cannot split its pairs into their parts; the trainer then uses {@link #collate}.
     */
    default Optional<SharedPromptLayout> sharedPrompt(int[] rows) {
        return Optional.empty();
    }

    /**
     * As {@link #sharedPrompt}, each row padded as {@link #collate} pads it ({@link SharedPromptLayout#padded}):
     * evaluation's layout, whose {@code logits/*} are TRL's over the padded rows; empty when the source cannot split
     * its pairs.
     */
    default Optional<SharedPromptLayout> paddedSharedPrompt(int[] rows) {
        return Optional.empty();
    }

    /** Pair {@code row} as tokenized, or empty when this source keeps only its batches (then no samples). */
    default Optional<TokenizedPair> pair(int row) {
        return Optional.empty();
    }

    /** A digest of the tokenized pairs that a resumed run compares with its checkpoint's; empty when unknown. */
    default Optional<String> fingerprint() {
        return Optional.empty();
    }

    /** A tokenized {@link PreferenceDataset} (its BatchSampler orders the epochs, its collate pads). */
    static PairSource of(PreferenceDataset dataset) {
        return new PairSource() {
            @Override
            public int size() {
                return dataset.size();
            }

            @Override
            public List<int[]> batches(int batchSize, int epoch, long seed, boolean shuffle, boolean groupByLength) {
                return dataset.batches(batchSize, epoch, seed, shuffle, groupByLength);
            }

            @Override
            public Optional<TokenizedPair> pair(int row) {
                return Optional.of(dataset.row(row));
            }

            @Override
            public Optional<String> fingerprint() {
                return Optional.of(dataset.fingerprint());
            }

            @Override
            public Optional<SharedPromptLayout> sharedPrompt(int[] rows) {
                List<SharedPromptLayout.Pair> pairs = new ArrayList<>(rows.length);
                for (int row : rows) {
                    TokenizedPair p = dataset.row(row);
                    pairs.add(new SharedPromptLayout.Pair(p.prompt(), p.chosen(), p.rejected(), p.chosenPromptTail(),
                            p.rejectedPromptTail()));
                }
                return Optional.of(SharedPromptLayout.of(pairs));
            }

            @Override
            public Optional<SharedPromptLayout> paddedSharedPrompt(int[] rows) {
                return sharedPrompt(rows).map(layout -> layout.padded(dataset.padId()));
            }

            @Override
            public MicroBatch collate(int[] rows, NDManager manager) {
                PreferenceBatch batch = dataset.collate(rows);
                NDList arrays = batch.toNDList(manager);
                return new MicroBatch(arrays.get(0), arrays.get(1), arrays.get(2), batch.pairs(), batch.tokens());
            }
        };
    }
}
