package org.orpo4j.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;

/**
 * The row order of one epoch cut into batches (the last may be smaller). Shuffling draws a permutation from
 * (seed, epoch) alone, so resuming at any epoch re-derives it. Length grouping is HF's LengthGroupedSampler:
 * the (shuffled) order is cut into megabatches of {@code min(n / (4 * batch), 50)} batches, each sorted by
 * length descending, so that a batch holds rows of similar length and pads little; the batch holding the
 * longest row goes first (an out-of-memory shows at once).
 */
public final class BatchSampler {

    private final int batchSize;
    private final boolean shuffle;
    private final boolean groupByLength;

    public BatchSampler(int batchSize, boolean shuffle, boolean groupByLength) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.groupByLength = groupByLength;
    }

    /** Batches of row indices in {@code [0, n)} for {@code epoch}; {@code length} gives a row's padded length. */
    public List<int[]> batches(IntUnaryOperator length, int n, int epoch, long seed) {
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            permute(order, new SplittableRandom(mix(seed, epoch)));
        }
        if (groupByLength) {
            int megabatch = Math.max(1, Math.min(n / (batchSize * 4), 50)) * batchSize;
            Comparator<Integer> longestFirst = Comparator.comparingInt((Integer i) -> length.applyAsInt(i)).reversed();
            for (int from = 0; from < n; from += megabatch) {
                Arrays.sort(order, from, Math.min(n, from + megabatch), longestFirst); // stable
            }
        }
        List<int[]> batches = new ArrayList<>();
        for (int from = 0; from < n; from += batchSize) {
            int[] b = new int[Math.min(batchSize, n - from)];
            for (int k = 0; k < b.length; k++) {
                b[k] = order[from + k];
            }
            batches.add(b);
        }
        if (groupByLength && batches.size() > 1) {
            int longest = 0;
            for (int k = 1; k < batches.size(); k++) {
                if (length.applyAsInt(batches.get(k)[0]) > length.applyAsInt(batches.get(longest)[0])) {
                    longest = k;
                }
            }
            batches.add(0, batches.remove(longest));
        }
        return batches;
    }

    /** Fisher-Yates. */
    private static void permute(Integer[] a, SplittableRandom random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Integer t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** One seed per (seed, epoch): SplitMix64 of both, so neighbouring epochs are unrelated. */
    static long mix(long seed, int epoch) {
        long z = seed + 0x9E3779B97F4A7C15L * (epoch + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
