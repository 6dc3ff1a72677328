package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** DistributedSampler's deal: rank r takes rows r, r+N, …; a shuffle is one permutation all ranks share. */
class RankShardTest {

    @Test
    void inFileOrderRankRTakesEveryNthRow() {
        PairSource rows = PairSource.of(Synthetic.pairs(7, 1));
        // 7 rows, 2 ranks: padded to 8 with row 0 again; rank 0: 0 2 4 6, rank 1: 1 3 5 0
        assertBatches(List.of(new int[] {0, 2}, new int[] {4, 6}),
                new RankShard(rows, 0, 2).batches(2, 0, 42, false, false));
        assertBatches(List.of(new int[] {1, 3}, new int[] {5, 0}),
                new RankShard(rows, 1, 2).batches(2, 0, 42, false, false));
        assertEquals(4, new RankShard(rows, 1, 2).size());
    }

    @Test
    void shuffledRanksSplitOnePermutation() {
        PairSource rows = PairSource.of(Synthetic.pairs(12, 1));
        int[] permutation = rows.batches(1, 3, 42, true, false).stream().mapToInt(b -> b[0]).toArray();
        for (int r = 0; r < 3; r++) {
            int rank = r;
            int[] expected = IntStream.range(0, 4).map(k -> permutation[rank + 3 * k]).toArray();
            int[] got = new RankShard(rows, r, 3).batches(2, 3, 42, true, false).stream().flatMapToInt(
                    IntStream::of).toArray();
            assertArrayEquals(expected, got, "rank " + r);
        }
    }

    private static void assertBatches(List<int[]> expected, List<int[]> got) {
        assertEquals(expected.size(), got.size());
        List<String> e = new ArrayList<>();
        List<String> g = new ArrayList<>();
        expected.forEach(b -> e.add(java.util.Arrays.toString(b)));
        got.forEach(b -> g.add(java.util.Arrays.toString(b)));
        assertEquals(e, g);
    }
}
