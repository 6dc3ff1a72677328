package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.NativeTests;
import org.orpo4j.runtime.WithCpuManager;

/**
 * {@code attn_implementation = sdpa} (torch's fused attention) computes what the eager path computes, for every
 * family: logits of the golden batch (right-padded, one row fully padded) against transformers within the eager
 * path's own bound (1e-5 of the largest logit), and not bit for bit the eager values, so the fused kernel ran
 * (gemma2's soft-capped layers excepted: they stay eager, bit for bit); every parameter gradient of the ORPO loss
 * within 1e-5 relative of the eager path's (‖Δ‖/‖g‖ over all tensors) on a padded batch (mask), an unpadded one (by
 * position, no mask), with gradient checkpointing and on the shared-prompt layout (pieces by position and by mask); greedy
 * generation through the KV cache gives transformers' tokens.
 */
@Tag("native")
class SdpaAttentionTest extends WithCpuManager {

    static Iterable<String> cases() {
        return Golden.CASES;
    }

    @BeforeAll
    static void needsTheKernel() {
        NativeTests.assumeFusedAttention();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void logitsMatchTransformers(String name) {
        Golden golden = Golden.load(name);
        try (CausalLm lm = CausalLm.load(golden.dir(), root); NDManager step = root.newSubManager();
                GradMode off = GradMode.enabled(false)) {
            float[] eager = lm.forward(golden.ids(step), golden.mask(step)).toFloatArray();
            float[] sdpa = lm.attnImplementation(AttnImplementation.SDPA)
                    .forward(golden.ids(step), golden.mask(step)).toFloatArray();
            double error = golden.logitsError(sdpa);
            assertTrue(error <= 1e-5, name + ": max |error| / max |logit| = " + error + " > 1e-5");
            boolean softCapped = lm.config().attnLogitSoftcapping() != null;
            assertEquals(softCapped, Arrays.equals(eager, sdpa), name + ": soft-capped layers alone stay eager");
            System.out.printf("%s sdpa vs transformers: max |error| / max |logit| = %.2e%n", name, error);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void gradientsMatchTheEagerPath(String name) {
        try (CausalLm lm = CausalLm.load(Golden.dir(name), root)) {
            List<String> report = new ArrayList<>();
            for (boolean padded : new boolean[] {true, false}) {
                for (boolean checkpoint : new boolean[] {false, true}) {
                    Map<String, float[]> eager = twoRowGradients(lm.attnImplementation(AttnImplementation.EAGER),
                            padded, checkpoint);
                    Map<String, float[]> sdpa = twoRowGradients(lm.attnImplementation(AttnImplementation.SDPA),
                            padded, checkpoint);
                    String what = (padded ? "padded" : "unpadded") + (checkpoint ? " checkpointed" : "");
                    report.add(what + " " + String.format("%.1e", relative(eager, sdpa, name + " " + what)));
                }
            }
            Map<String, float[]> eager = packedGradients(lm.attnImplementation(AttnImplementation.EAGER));
            Map<String, float[]> sdpa = packedGradients(lm.attnImplementation(AttnImplementation.SDPA));
            report.add("shared prompt " + String.format("%.1e", relative(eager, sdpa, name + " shared prompt")));
            System.out.printf("%s sdpa vs eager gradients: %s%n", name, String.join(", ", report));
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void greedyGenerationGivesTransformersTokens(String name) {
        Golden golden = Golden.load(name);
        try (CausalLm lm = CausalLm.load(golden.dir(), root)) {
            lm.attnImplementation(AttnImplementation.SDPA);
            GenerationConfig greedy = GenerationConfig.greedy(golden.greedyTokens().length, Set.of());
            assertArrayEquals(golden.greedyTokens(), new Generator(lm, true).generate(golden.greedyPrompt(), greedy),
                    name + " with KV cache");
        }
    }

    /** The ORPO loss's parameter gradients on 3 pairs of 9 tokens, prompts of 3, rows right-padded or full. */
    private static Map<String, float[]> twoRowGradients(CausalLm lm, boolean padded, boolean checkpoint) {
        return CheckpointingTest.gradients(lm, checkpoint, padded ? CheckpointingTest.PADDED : new int[] {9, 9, 9, 9,
            9, 9});
    }

    /** The same loss's gradients on three pairs packed as [prompt | chosen | rejected], chunked loss. */
    private static Map<String, float[]> packedGradients(CausalLm lm) {
        return SharedPromptExactnessTest.packed(lm, SharedPromptExactnessTest.pairs(11), OrpoLoss.builder().build(),
                "chunked").gradients();
    }

    /** ‖a − b‖ / ‖a‖ over every tensor, asserted ≤ 1e-5 (and the gradients not all zero). */
    private static double relative(Map<String, float[]> a, Map<String, float[]> b, String what) {
        double norm = 0;
        double diff = 0;
        for (String name : a.keySet()) {
            float[] x = a.get(name);
            float[] y = b.get(name);
            for (int i = 0; i < x.length; i++) {
                norm += (double) x[i] * x[i];
                diff += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
            }
        }
        assertFalse(norm == 0, what + ": no gradient");
        double rel = Math.sqrt(diff / norm);
        assertTrue(rel <= 1e-5, what + ": gradient relative difference " + rel);
        return rel;
    }
}
