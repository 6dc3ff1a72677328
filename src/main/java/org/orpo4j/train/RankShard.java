package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.orpo4j.layout.SharedPromptLayout;

/**
 * One rank's share of a {@link PairSource}, as torch's {@code DistributedSampler} deals it: the epoch's row order
 * (the source's own, shuffled by the one seed every rank shares) padded by its first rows to a multiple of N, rank
 * r taking rows r, r+N, r+2N… in micro-batches of B. Rank r's k-th micro-batch is thus the r-th stride of the
 * global k-th batch of N·B rows, and N ranks × B rows see what one process × N·B rows sees.
 */
final class RankShard implements PairSource {

    private final PairSource all;
    private final int rank;
    private final int worldSize;

    RankShard(PairSource all, int rank, int worldSize) {
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " is outside a world of " + worldSize);
        }
        this.all = all;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    @Override
    public int size() {
        return Math.floorDiv(all.size() + worldSize - 1, worldSize);
    }

    @Override
    public List<int[]> batches(int batchSize, int epoch, long seed, boolean shuffle, boolean groupByLength) {
        List<Integer> order = new ArrayList<>(all.size() + worldSize);
        for (int[] global : all.batches(batchSize * worldSize, epoch, seed, shuffle, groupByLength)) {
            for (int row : global) {
                order.add(row);
            }
        }
        int padded = size() * worldSize;
        for (int i = 0; order.size() < padded; i++) {
            order.add(order.get(i)); // DistributedSampler's padding: the first rows again
        }
        int[] shard = new int[size()];
        for (int k = 0; k < shard.length; k++) {
            shard[k] = order.get(rank + k * worldSize);
        }
        List<int[]> mine = new ArrayList<>();
        for (int from = 0; from < shard.length; from += batchSize) {
            mine.add(Arrays.copyOfRange(shard, from, Math.min(shard.length, from + batchSize)));
        }
        return mine;
    }

    @Override
    public MicroBatch collate(int[] rows, NDManager manager) {
        return all.collate(rows, manager);
    }

    @Override
    public Optional<SharedPromptLayout> sharedPrompt(int[] rows) {
        return all.sharedPrompt(rows);
    }

    @Override
    public Optional<SharedPromptLayout> paddedSharedPrompt(int[] rows) {
        return all.paddedSharedPrompt(rows);
    }

    @Override
    public Optional<String> fingerprint() {
        return all.fingerprint();
    }
}
