package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Autoregressive decoding of one prompt: greedy or temperature + top-p sampling, stopping at an EOS id or the token
 * budget. With the KV cache (default) each new token costs one position; without it the whole sequence is re-run,
 * which is slower but a useful cross-check.
 */
public final class Generator {

    private final CausalLm model;
    private final boolean useKvCache;

    public Generator(CausalLm model) {
        this(model, true);
    }

    public Generator(CausalLm model, boolean useKvCache) {
        this.model = model;
        this.useKvCache = useKvCache;
    }

    /** The new token ids after {@code promptIds} (not including the prompt; ending with the EOS id if one was hit). */
    public long[] generate(long[] promptIds, GenerationConfig config) {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("Generator: the prompt is empty");
        }
        long[] sequence = Arrays.copyOf(promptIds, promptIds.length + config.maxNewTokens());
        int length = promptIds.length;
        Random random = new Random(config.seed());
        try (NDManager session = model.manager().newSubManager();
                KvCache cache = useKvCache ? new KvCache(session, model.numLayers()) : null) {
            while (length - promptIds.length < config.maxNewTokens()) {
                // with the cache only the tokens it has not seen yet go in; without it the whole sequence
                int from = cache == null ? 0 : Math.toIntExact(cache.length());
                if (cache != null && model.config().ropeChangesBetween(from, length)) {
                    cache.clear();
                    from = 0;
                }
                float[] logits = nextTokenLogits(session, Arrays.copyOfRange(sequence, from, length), cache);
                long next = config.greedy() ? argmax(logits) : sample(logits, config, random);
                sequence[length++] = next;
                if (config.eosIds().contains(next)) {
                    break;
                }
            }
        }
        return Arrays.copyOfRange(sequence, promptIds.length, length);
    }

    /** Logits [V] of the last position, computed in a step manager freed right after. */
    private float[] nextTokenLogits(NDManager session, long[] ids, KvCache cache) {
        try (NDManager step = session.newSubManager()) {
            NDArray input = step.create(ids, new Shape(1, ids.length)); // [1, T]
            NDArray logits = model.forward(input, null, cache); // [1, T, V]
            return logits.get(0, ids.length - 1).toFloatArray(); // [V]
        }
    }

    static long argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Samples from softmax(logits / T) restricted to the top-p nucleus (at least one token). */
    static long sample(float[] logits, GenerationConfig config, Random random) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] probs = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            probs[i] = Math.exp((logits[i] - max) / config.temperature());
            sum += probs[i];
        }
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        double total = sum;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -probs[i])); // stable: ties by id
        int keep = 0;
        double cumulative = 0;
        while (keep < order.length && (keep == 0 || cumulative < config.topP() * total)) {
            cumulative += probs[order[keep++]];
        }
        double u = random.nextDouble() * cumulative;
        for (int k = 0; k < keep; k++) {
            u -= probs[order[k]];
            if (u < 0) {
                return order[k];
            }
        }
        return order[keep - 1];
    }
}
