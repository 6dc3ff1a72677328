package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.runtime.WithCpuManager;

/** Greedy decoding equals the argmax continuation of the full forward; sampling is reproducible; EOS stops. */
class GeneratorTest extends WithCpuManager {

    private static final int NEW_TOKENS = 20;

    static Iterable<String> cases() {
        return Golden.CASES;
    }

    /**
     * The reference's greedy tokens (20; 40 for the families of families_golden.py, far past their 3- and 4-token
     * windows and across phi3's switch to long RoPE factors), with and without the KV cache, equal the reference's
     * continuation (full forward re-run per token in torch) and the argmax of this model's own full forward over
     * prompt + continuation.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void greedyEqualsTheArgmaxContinuationOfTheFullForward(String name) {
        Golden golden = Golden.load(name);
        try (CausalLm lm = CausalLm.load(golden.dir(), root)) {
            GenerationConfig greedy = GenerationConfig.greedy(golden.greedyTokens().length, Set.of());
            long[] cached = new Generator(lm, true).generate(golden.greedyPrompt(), greedy);
            long[] uncached = new Generator(lm, false).generate(golden.greedyPrompt(), greedy);
            assertArrayEquals(golden.greedyTokens(), cached, name + " with KV cache");
            assertArrayEquals(golden.greedyTokens(), uncached, name + " without KV cache");
            // one forward longer than longrope's original length rotates every position with the long factors, so
            // the full forward speaks for the tokens chosen once the sequence had crossed it (all, elsewhere)
            int from = Math.max(0, longRopeSwitch(lm) - golden.greedyPrompt().length + 1);
            long[] full = argmaxContinuation(lm, golden.greedyPrompt(), cached);
            assertArrayEquals(Arrays.copyOfRange(cached, from, cached.length),
                    Arrays.copyOfRange(full, from, full.length), name + " full forward");
        }
    }

    @Test
    void samplingIsReproducibleFromTheSeedWithAndWithoutCache() {
        Golden golden = Golden.load("qwen2_bias");
        try (CausalLm lm = CausalLm.load(golden.dir(), root)) {
            long[] prompt = golden.greedyPrompt();
            GenerationConfig seed1 = new GenerationConfig(NEW_TOKENS, 1.5, 0.95, 1, Set.of());
            long[] first = new Generator(lm).generate(prompt, seed1);
            assertEquals(NEW_TOKENS, first.length);
            assertArrayEquals(first, new Generator(lm).generate(prompt, seed1));
            assertArrayEquals(first, new Generator(lm, false).generate(prompt, seed1));
            long[] other = new Generator(lm).generate(prompt, new GenerationConfig(NEW_TOKENS, 1.5, 0.95, 2, Set.of()));
            assertFalse(Arrays.equals(first, other), "a different seed samples a different text");
            assertFalse(Arrays.equals(first, golden.greedyTokens()), "temperature 1.5 sampling is not greedy");
            // a nucleus this small holds only the most likely token: sampling becomes greedy
            long[] nucleusOfOne = new Generator(lm).generate(prompt,
                    new GenerationConfig(NEW_TOKENS, 1.0, 1e-6, 3, Set.of()));
            assertArrayEquals(golden.greedyTokens(), nucleusOfOne);
        }
    }

    @Test
    void anEosIdStopsGenerationAndIsKept() {
        Golden golden = Golden.load("llama_untied");
        long[] expected = golden.greedyTokens();
        int stopAt = 5;
        while (indexOf(expected, expected[stopAt]) != stopAt) {
            stopAt++; // the first token that does not occur earlier
        }
        long eos = expected[stopAt];
        try (CausalLm lm = CausalLm.load(golden.dir(), root)) {
            for (boolean cache : new boolean[] {true, false}) {
                long[] out = new Generator(lm, cache).generate(golden.greedyPrompt(),
                        GenerationConfig.greedy(NEW_TOKENS, Set.of(eos, 9999L)));
                assertArrayEquals(Arrays.copyOf(expected, stopAt + 1), out, "cache=" + cache);
            }
            assertEquals(0, new Generator(lm).generate(golden.greedyPrompt(), GenerationConfig.greedy(0, null)).length);
        }
    }

    /** Phi3's original_max_position_embeddings under longrope (HF's switch to the long factors), else 0. */
    private static int longRopeSwitch(CausalLm lm) {
        var raw = lm.config().raw();
        return raw.path("rope_scaling").path("rope_type").asText("").equals("longrope")
                ? raw.path("original_max_position_embeddings").asInt() : 0;
    }

    /** For each generated position, the argmax of the full forward's logits at the previous position. */
    private static long[] argmaxContinuation(CausalLm lm, long[] prompt, long[] generated) {
        long[] sequence = new long[prompt.length + generated.length];
        System.arraycopy(prompt, 0, sequence, 0, prompt.length);
        System.arraycopy(generated, 0, sequence, prompt.length, generated.length);
        try (NDManager step = root.newSubManager()) {
            NDArray ids = step.create(sequence, new Shape(1, sequence.length));
            NDArray next = lm.forward(ids, null).argMax(-1); // [1, L]
            long[] argmax = next.toLongArray();
            return Arrays.copyOfRange(argmax, prompt.length - 1, sequence.length - 1);
        }
    }

    private static int indexOf(long[] values, long value) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == value) {
                return i;
            }
        }
        return -1;
    }
}
