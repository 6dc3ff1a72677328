package org.orpo4j.model;

import java.util.Set;

/**
 * How {@link Generator} continues a prompt.
 *
 * @param maxNewTokens the token budget (generation stops earlier at an EOS id)
 * @param temperature 0 for greedy decoding, else the softmax temperature of sampling
 * @param topP nucleus sampling: sample among the most likely tokens whose probabilities sum to at least topP
 *     (1 = the whole vocabulary); ignored when greedy
 * @param seed the seed of the sampling RNG (Java's, so a seed gives the same text on every engine)
 * @param eosIds ids that end generation (kept as the last generated token)
 */
public record GenerationConfig(int maxNewTokens, double temperature, double topP, long seed, Set<Long> eosIds) {

    public GenerationConfig {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("GenerationConfig: maxNewTokens must be >= 0, got " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("GenerationConfig: temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("GenerationConfig: topP must be in (0, 1], got " + topP);
        }
        eosIds = eosIds == null ? Set.of() : Set.copyOf(eosIds);
    }

    /** Greedy decoding of up to {@code maxNewTokens}. */
    public static GenerationConfig greedy(int maxNewTokens, Set<Long> eosIds) {
        return new GenerationConfig(maxNewTokens, 0, 1, 0, eosIds);
    }

    public boolean greedy() {
        return temperature == 0;
    }
}
