package org.orpo4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;

/** Collation, padding, shuffling and length grouping, on hand-derived values. */
class BatchingTest {

    private static final long PAD = 0;

    @Test
    void collateChosenThenRejectedRightPadded() {
        TokenizedPair a = new TokenizedPair(new long[] {10, 11}, new long[] {20, 2}, new long[] {30, 31, 32, 2}, 1);
        TokenizedPair b = new TokenizedPair(new long[] {12}, new long[] {21, 22, 2}, new long[] {33, 2}, 2);
        PreferenceBatch batch = PreferenceDataset.of(List.of(a, b), PAD).collate(new int[] {0, 1});
        assertEquals(2, batch.pairs());
        assertEquals(6, batch.length(), "T = longest real sequence (a rejected: 2 + 4)");
        assertArrayEquals(new long[] {
            10, 11, 20, 2, 0, 0, // a chosen
            12, 21, 22, 2, 0, 0, // b chosen
            10, 11, 30, 31, 32, 2, // a rejected
            12, 33, 2, 0, 0, 0, // b rejected
        }, batch.inputIds());
        assertArrayEquals(new long[] {
            1, 1, 1, 1, 0, 0,
            1, 1, 1, 1, 0, 0,
            1, 1, 1, 1, 1, 1,
            1, 1, 1, 0, 0, 0,
        }, batch.attentionMask());
        assertArrayEquals(new long[] {
            -100, -100, 20, 2, -100, -100,
            -100, 21, 22, 2, -100, -100,
            -100, -100, 30, 31, 32, 2,
            -100, 33, 2, -100, -100, -100,
        }, batch.labels());
        assertEquals(4 + 4 + 6 + 3, batch.tokens());
        assertArrayEquals(new int[] {0, 1}, batch.rowIndices());
        try (NDManager m = DjlRuntime.newManager(ai.djl.Device.cpu())) {
            NDList l = batch.toNDList(m);
            assertEquals(3, l.size());
            for (int i = 0; i < 3; i++) {
                assertEquals(new Shape(4, 6), l.get(i).getShape());
                assertEquals(DataType.INT64, l.get(i).getDataType());
            }
            assertArrayEquals(batch.labels(), l.get(2).toLongArray());
        }
    }

    @Test
    void fileOrderBatchesWithASmallerLastOne() {
        List<int[]> b = new BatchSampler(4, false, false).batches(i -> 1, 10, 0, 42);
        assertEquals(3, b.size());
        assertArrayEquals(new int[] {0, 1, 2, 3}, b.get(0));
        assertArrayEquals(new int[] {8, 9}, b.get(2));
        assertEquals(b.stream().map(Arrays::toString).toList(),
                new BatchSampler(4, false, false).batches(i -> 1, 10, 5, 7).stream().map(Arrays::toString).toList(),
                "file order ignores seed and epoch");
    }

    @Test
    void shuffleIsAPermutationFixedBySeedAndEpoch() {
        BatchSampler s = new BatchSampler(3, true, false);
        List<int[]> e0 = s.batches(i -> 1, 20, 0, 42);
        assertEquals(flat(e0), flat(s.batches(i -> 1, 20, 0, 42)), "same seed and epoch: same order (resume)");
        assertNotEquals(flat(e0), flat(s.batches(i -> 1, 20, 1, 42)), "next epoch reshuffles");
        assertNotEquals(flat(e0), flat(s.batches(i -> 1, 20, 0, 43)), "other seed, other order");
        List<Integer> sorted = new ArrayList<>(flat(e0));
        sorted.sort(null);
        assertEquals(java.util.stream.IntStream.range(0, 20).boxed().toList(), sorted);
        assertNotEquals(java.util.stream.IntStream.range(0, 20).boxed().toList(), flat(e0));
        assertEquals(2, e0.get(6).length, "20 = 6 * 3 + 2");
    }

    @Test
    void lengthGroupingHandExample() {
        int[] len = {5, 1, 7, 3, 8, 2, 6, 4};
        // n / (4 * batch) = 1 -> megabatches of one batch, each sorted longest first; the batch with 8 goes first
        List<int[]> b = new BatchSampler(2, false, true).batches(i -> len[i], 8, 0, 42);
        assertEquals(List.of("[4, 5]", "[0, 1]", "[2, 3]", "[6, 7]"), b.stream().map(Arrays::toString).toList());
    }

    @Test
    void lengthGroupingCutsPaddingAndStaysDeterministic() {
        Random r = new Random(3);
        int n = 4000;
        int[] len = new int[n];
        for (int i = 0; i < n; i++) {
            len[i] = 10 + r.nextInt(500);
        }
        BatchSampler grouped = new BatchSampler(8, true, true);
        BatchSampler plain = new BatchSampler(8, true, false);
        long paddedGrouped = padded(grouped.batches(i -> len[i], n, 0, 42), len);
        long paddedPlain = padded(plain.batches(i -> len[i], n, 0, 42), len);
        long real = Arrays.stream(len).asLongStream().sum();
        assertTrue(paddedGrouped - real < (paddedPlain - real) / 5,
                "grouped pads " + (paddedGrouped - real) + " vs " + (paddedPlain - real));
        assertEquals(flat(grouped.batches(i -> len[i], n, 2, 42)), flat(grouped.batches(i -> len[i], n, 2, 42)));
        List<int[]> b = grouped.batches(i -> len[i], n, 0, 42);
        int max = Arrays.stream(len).max().getAsInt();
        assertTrue(Arrays.stream(b.get(0)).anyMatch(i -> len[i] == max), "longest row in the first batch");
        assertEquals(n, flat(b).stream().distinct().count());
    }

    private static long padded(List<int[]> batches, int[] len) {
        long total = 0;
        for (int[] b : batches) {
            total += (long) b.length * Arrays.stream(b).map(i -> len[i]).max().getAsInt();
        }
        return total;
    }

    private static List<Integer> flat(List<int[]> batches) {
        List<Integer> out = new ArrayList<>();
        batches.forEach(b -> Arrays.stream(b).forEach(out::add));
        return out;
    }
}
