package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;

/**
 * A learnable synthetic preference task for trainer tests: prompts of "topic" ids 19..31 after BOS (1); chosen
 * answers use "polite" ids 3..10, rejected answers "curt" ids 11..18; both end with EOS (2). Pad id 0.
 */
final class Synthetic {

    static final int VOCAB = 32;

    private Synthetic() {}

    static TokenPairs pairs(int n, long seed) {
        Random r = new Random(seed);
        List<TokenPairs.Pair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TokenPairs.Pair(sequence(r, 1, 19, 31, 1 + r.nextInt(3), false),
                    sequence(r, -1, 3, 10, 1 + r.nextInt(3), true), sequence(r, -1, 11, 18, 1 + r.nextInt(3), true)));
        }
        return new TokenPairs(out, 0);
    }

    private static long[] sequence(Random r, long first, int lo, int hi, int len, boolean eos) {
        List<Long> ids = new ArrayList<>();
        if (first >= 0) {
            ids.add(first);
        }
        for (int i = 0; i < len; i++) {
            ids.add((long) (lo + r.nextInt(hi - lo + 1)));
        }
        if (eos) {
            ids.add(2L);
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /** A tiny random llama over the synthetic vocabulary. */
    static CausalLm model(NDManager manager, int hidden, int layers, long seed) {
        ModelConfig config = ModelConfig.builder("llama").vocabSize(VOCAB).hiddenSize(hidden)
                .intermediateSize(2 * hidden).numHiddenLayers(layers).numAttentionHeads(4).numKeyValueHeads(2)
                .padTokenId(0).build();
        return CausalLm.random(config, manager, seed);
    }
}
