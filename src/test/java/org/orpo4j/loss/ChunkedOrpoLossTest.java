package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.Scalars;
import org.orpo4j.runtime.WithCpuManager;

/**
 * The chunked path against the plain one (full logits → {@link OrpoLoss#compute}) on a tiny CausalLm: same loss,
 * metrics and parameter gradients; and no logits tensor larger than one chunk while it runs.
 */
class ChunkedOrpoLossTest extends WithCpuManager {

    private static final int VOCAB = 37; // distinct from H, T and every chunk size
    private static final int HIDDEN = 16;
    private static final int LENGTH = 9; // T; N = 2B·(T−1) = 32 predicting positions
    private static final double REL = 1e-5;

    /** B = 2, right-padded, prompts of 2-4 tokens; completions of 1-5 tokens (pad id 0). */
    private static final long[][] IDS = {
        {1, 5, 9, 12, 30, 7, 2, 0, 0},
        {3, 4, 8, 33, 21, 14, 6, 11, 2},
        {1, 5, 9, 25, 2, 0, 0, 0, 0},
        {3, 4, 8, 17, 36, 19, 2, 0, 0},
    };
    private static final int[] PROMPT = {3, 4, 3, 4};

    @Test
    void untiedModelAgreesWithThePlainPathForChunkSizesThatDoNotDivideTheTokens() {
        for (int chunkTokens : new int[] {1, 5, 7, 40}) {
            assertSamePath(config(false), OrpoLoss.builder().build(), chunkTokens, 1);
        }
    }

    @Test
    void tiedModelAgreesWithThePlainPath() {
        assertSamePath(config(true), OrpoLoss.builder().build(), 5, 1);
        assertSamePath(config(true), OrpoLoss.builder().beta(0.3).alpha(2.0).build(), 3, 2);
    }

    @Test
    void promptLossOffAgreesWithThePlainPath() {
        assertSamePath(config(false), OrpoLoss.builder().promptLoss(false).build(), 6, 1);
        assertSamePath(config(true), OrpoLoss.builder().promptLoss(false).beta(0.5).build(), 11, 3);
    }

    /**
     * The head's gradient is written during compute, before backward, scaled by gradScale, and adds to what W's
     * gradient already holds: two micro-batches at scale 1/2 give the gradients of one plain backward.
     */
    @Test
    void headGradientIsWrittenDuringComputeAndAccumulatesAcrossMicroBatches() {
        for (boolean tied : new boolean[] {false, true}) {
            OrpoLoss loss = OrpoLoss.builder().build();
            Run plain = run(config(tied), model -> {
                try (NDManager step = root.newSubManager();
                        GradientCollector collector = root.getEngine().newGradientCollector()) {
                    Batch b = batch(step);
                    OrpoLoss.Output out = loss.compute(model.forward(b.ids, b.mask), b.ids, b.mask, b.labels);
                    collector.backward(out.loss());
                    return new Outcome(out.loss().getFloat(), out.metrics());
                }
            });
            String head = tied ? "model.embed_tokens.weight" : "lm_head.weight";
            ChunkedOrpoLoss chunked = ChunkedOrpoLoss.of(loss, 6L * VOCAB);
            Run halves = run(config(tied), model -> {
                Outcome outcome = null;
                for (int micro = 0; micro < 2; micro++) {
                    try (NDManager step = root.newSubManager();
                            GradientCollector collector = root.getEngine().newGradientCollector()) {
                        Batch b = batch(step);
                        NDArray hidden = model.hiddenStates(b.ids, b.mask);
                        OrpoLoss.Output out = chunked.compute(hidden, model.lmHeadWeight(), b.ids, b.mask, b.labels,
                                0.5);
                        if (micro == 0 && !tied) {
                            try (NDArray g = model.lmHeadWeight().getGradient()) {
                                float[] half = plain.gradients.get(head).clone();
                                for (int i = 0; i < half.length; i++) {
                                    half[i] *= 0.5f;
                                }
                                assertGradientClose(half, g.toFloatArray(), "head gradient before backward");
                            }
                        }
                        collector.backward(out.loss());
                        outcome = new Outcome(out.loss().getFloat(), out.metrics());
                    }
                }
                return outcome;
            });
            assertTrue(plain.gradients.containsKey(head), head);
            for (String name : plain.gradients.keySet()) {
                assertGradientClose(plain.gradients.get(name), halves.gradients.get(name), "tied=" + tied + " " + name);
            }
        }
    }

    /**
     * During the chunked computation no live array has a vocabulary axis longer than one chunk's C·V values, pass
     * 2's blocks hold at most C·V values, the chunks run with grad mode off (autograd saves nothing of them), and
     * afterwards the model's manager holds exactly its parameters. The same scan during the plain path sees the
     * [2B, T, V] logits, so it can fail.
     */
    @Test
    void noLogitsLargerThanOneChunkAreEverLive() {
        int chunkTokens = 5;
        long chunkValues = (long) chunkTokens * VOCAB;
        try (CausalLm lm = CausalLm.random(config(true), root, 11)) {
            Set<NDArray> modelArrays = live((BaseNDManager) root);
            List<String> peaks = new ArrayList<>();
            long[] largest = {0};
            ChunkProbe probe = (pass, logits) -> {
                // with grad mode off PyTorch records no op, so no chunk tensor can be saved for backward
                assertFalse(JniUtils.isGradMode(), "pass " + pass + ": grad mode on inside a chunk");
                largest[0] = Math.max(largest[0], largestVocabArray((BaseNDManager) root));
                assertTrue(logits.size() <= chunkValues, "pass " + pass + " block " + logits.getShape());
                peaks.add(pass + ":" + logits.getShape());
            };
            ChunkedOrpoLoss chunked = ChunkedOrpoLoss.of(OrpoLoss.builder().build(), chunkValues).withProbe(probe);
            try (NDManager step = root.newSubManager();
                    GradientCollector collector = root.getEngine().newGradientCollector()) {
                Batch b = batch(step);
                NDArray hidden = lm.hiddenStates(b.ids, b.mask);
                OrpoLoss.Output out = chunked.compute(hidden, lm.lmHeadWeight(), b.ids, b.mask, b.labels);
                assertTrue(largestVocabArray((BaseNDManager) root) <= chunkValues, "after compute");
                collector.backward(out.loss());
            }
            // pass 1: 32 positions in chunks of 5 = 7 chunks; pass 2: all 32 positions by vocabulary blocks of
            // 185 / 32 = 5 rows of W = 8 blocks
            assertEquals(7 + 8, peaks.size(), peaks.toString());
            assertEquals("1:(2, 37)", peaks.get(6), "the last chunk holds the 2 remaining positions");
            assertEquals("2:(32, 5)", peaks.get(7), "a block of dz: every position, 5 vocabulary entries");
            assertEquals("2:(32, 2)", peaks.get(14), "the last block holds the 2 remaining vocabulary entries");
            assertTrue(largest[0] > 0 && largest[0] <= chunkValues,
                    "largest live array with a vocabulary axis: " + largest[0] + " values > one chunk " + chunkValues);
            assertEquals(modelArrays, live((BaseNDManager) root), "only the parameters outlive the step");

            try (NDManager step = root.newSubManager()) {
                Batch b = batch(step);
                lm.forward(b.ids, b.mask);
                assertEquals(4L * LENGTH * VOCAB, largestVocabArray((BaseNDManager) root), "plain path logits");
            }
        }
    }

    /** Without a gradient collector (evaluation) pass 2 is skipped and the metrics equal the plain path's. */
    @Test
    void evaluationSkipsTheGradientPass() {
        try (CausalLm lm = CausalLm.random(config(false), root, 5); NDManager step = root.newSubManager()) {
            Batch b = batch(step);
            OrpoLoss loss = OrpoLoss.builder().build();
            OrpoMetrics plain = loss.compute(lm.forward(b.ids, b.mask), b.ids, b.mask, b.labels).metrics();
            List<Integer> passes = new ArrayList<>();
            OrpoLoss.Output out = ChunkedOrpoLoss.of(loss, 4L * VOCAB).withProbe((pass, l) -> passes.add(pass))
                    .compute(lm.hiddenStates(b.ids, b.mask), lm.lmHeadWeight(), b.ids, b.mask, b.labels);
            assertEquals(List.of(1, 1, 1, 1, 1, 1, 1, 1), passes);
            assertMetricsRelative(plain, out.metrics());
            assertEquals(plain.loss(), out.loss().getFloat(), REL * Math.abs(plain.loss()));
        }
    }

    @Test
    void badInputsAreNamed() {
        try (NDManager step = root.newSubManager()) {
            Batch b = batch(step);
            ChunkedOrpoLoss chunked = ChunkedOrpoLoss.of(OrpoLoss.builder().build());
            NDArray hidden = step.zeros(new Shape(4, LENGTH, HIDDEN));
            Exception e = assertThrows(IllegalArgumentException.class,
                    () -> chunked.compute(hidden, step.zeros(new Shape(VOCAB, HIDDEN + 1)), b.ids, b.mask, b.labels));
            assertTrue(e.getMessage().contains("lmHeadWeight has shape (37, 17)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> chunked.compute(hidden, step.zeros(new Shape(30, HIDDEN)), b.ids, b.mask, b.labels));
            assertTrue(e.getMessage().contains("outside the vocabulary [0, 30)"), e.getMessage());
            NDArray noCompletion = b.labels.duplicate();
            noCompletion.set(new ai.djl.ndarray.index.NDIndex("3, :"), -100);
            e = assertThrows(IllegalArgumentException.class, () -> chunked.compute(
                    hidden, step.zeros(new Shape(VOCAB, HIDDEN)), b.ids, b.mask, noCompletion));
            assertTrue(e.getMessage().contains("row 3 (rejected, pair 1) has no completion tokens"), e.getMessage());
        }
    }

    @Test
    void chunkingIsRecommendedOnceTheLogitsAreLarge() {
        assertEquals(453, ChunkedOrpoLoss.of(OrpoLoss.builder().build()).chunkTokens(37_000));
        assertEquals(1, ChunkedOrpoLoss.of(OrpoLoss.builder().build(), 10).chunkTokens(37_000));
        assertFalse(ChunkedOrpoLoss.recommended(2, 128, 49_152)); // 12.5M values: fits one chunk
        assertFalse(ChunkedOrpoLoss.recommended(2, 1, 49_152)); // no predicted positions
        assertTrue(ChunkedOrpoLoss.recommended(4, 256, 49_152)); // 50M values: three chunks
        assertTrue(ChunkedOrpoLoss.recommended(2, 1024, 151_936)); // 311M values
        assertTrue(ChunkedOrpoLoss.recommended(16, 1024, 49_152));
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Runs both paths on fresh, identical models and compares loss, metrics and every parameter gradient. */
    private static void assertSamePath(ModelConfig config, OrpoLoss loss, int chunkTokens, int gradDivisor) {
        String what = "tied=" + config.tieWordEmbeddings() + " promptLoss=" + loss.promptLoss() + " C=" + chunkTokens;
        Run plain = run(config, model -> {
            try (NDManager step = root.newSubManager();
                    GradientCollector collector = root.getEngine().newGradientCollector()) {
                Batch b = batch(step);
                OrpoLoss.Output out = loss.compute(model.forward(b.ids, b.mask), b.ids, b.mask, b.labels);
                double value = out.loss().getFloat();
                collector.backward(out.loss().div(Scalars.like(out.loss(), gradDivisor)));
                return new Outcome(value, out.metrics());
            }
        });
        ChunkedOrpoLoss chunked = ChunkedOrpoLoss.of(loss, (long) chunkTokens * VOCAB);
        assertEquals(chunkTokens, chunked.chunkTokens(VOCAB));
        Run fused = run(config, model -> {
            try (NDManager step = root.newSubManager();
                    GradientCollector collector = root.getEngine().newGradientCollector()) {
                Batch b = batch(step);
                NDArray hidden = model.hiddenStates(b.ids, b.mask);
                OrpoLoss.Output out = chunked.compute(hidden, model.lmHeadWeight(), b.ids, b.mask, b.labels,
                        1.0 / gradDivisor);
                double value = out.loss().getFloat();
                collector.backward(out.loss());
                return new Outcome(value, out.metrics());
            }
        });
        assertEquals(plain.outcome.loss, fused.outcome.loss, REL * Math.abs(plain.outcome.loss), what + " loss");
        assertEquals(plain.outcome.loss, fused.outcome.metrics.loss(), REL * Math.abs(plain.outcome.loss), what);
        assertMetricsRelative(plain.outcome.metrics, fused.outcome.metrics);
        assertEquals(plain.gradients.keySet(), fused.gradients.keySet());
        for (String name : plain.gradients.keySet()) {
            assertGradientClose(plain.gradients.get(name), fused.gradients.get(name), what + " " + name);
        }
    }

    /**
     * Relative agreement of one gradient tensor: |chunked − plain| ≤ 1e-5 · max|plain| element-wise (float32
     * sums taken in another order differ by ~1e-7 of the tensor's scale; an element-wise ratio would divide by
     * entries that are themselves rounding noise), and a gradient that is not all zero.
     */
    private static void assertGradientClose(float[] expected, float[] actual, String what) {
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 0, what + ": the plain path gives no gradient");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], REL * scale, what + "[" + i + "]");
        }
    }

    /**
     * Every metric within 1e-5 relative. logits/* average V·(T−1) values of either sign whose mean nearly cancels,
     * so their tolerance is relative to the mean |logit| (the scale the summation error is made at), given as 1.
     */
    private static void assertMetricsRelative(OrpoMetrics expected, OrpoMetrics actual) {
        double[] e = expected.values();
        double[] a = actual.values();
        for (int i = 0; i < e.length; i++) {
            String name = OrpoMetrics.NAMES.get(i);
            double scale = name.startsWith("logits/") ? Math.max(Math.abs(e[i]), 1.0) : Math.abs(e[i]);
            assertEquals(e[i], a[i], REL * scale + 1e-12, name);
        }
    }

    private record Outcome(double loss, OrpoMetrics metrics) {}

    private record Run(Outcome outcome, Map<String, float[]> gradients) {}

    private interface Step {
        Outcome run(CausalLm model);
    }

    private static Run run(ModelConfig config, Step step) {
        try (CausalLm model = CausalLm.random(config, root, 42)) {
            Outcome outcome = step.run(model);
            Map<String, float[]> grads = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : model.parameters().entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    grads.put(e.getKey(), g.toFloatArray());
                }
            }
            return new Run(outcome, grads);
        }
    }

    private static ModelConfig config(boolean tied) {
        return ModelConfig.builder("llama").vocabSize(VOCAB).hiddenSize(HIDDEN).intermediateSize(24)
                .numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2).tieWordEmbeddings(tied).build();
    }

    private record Batch(NDArray ids, NDArray mask, NDArray labels) {}

    private static Batch batch(NDManager m) {
        long[] ids = new long[4 * LENGTH];
        long[] mask = new long[ids.length];
        long[] labels = new long[ids.length];
        for (int r = 0; r < 4; r++) {
            for (int t = 0; t < LENGTH; t++) {
                int k = r * LENGTH + t;
                boolean real = t == 0 || IDS[r][t] != 0;
                ids[k] = IDS[r][t];
                mask[k] = real ? 1 : 0;
                labels[k] = real && t >= PROMPT[r] ? IDS[r][t] : OrpoLoss.IGNORE_INDEX;
            }
        }
        Shape shape = new Shape(4, LENGTH);
        return new Batch(m.create(ids, shape), m.create(mask, shape), m.create(labels, shape));
    }

    /** The most values held by any live array (under {@code manager}, sub-managers included) with a V-long axis. */
    private static long largestVocabArray(BaseNDManager manager) {
        long largest = 0;
        for (NDArray a : manager.getManagedArrays()) {
            Shape s = a.getShape();
            if (!a.isReleased() && s.dimension() > 0 && s.get(s.dimension() - 1) == VOCAB) {
                largest = Math.max(largest, s.size());
            }
        }
        return largest;
    }

    private static Set<NDArray> live(BaseNDManager manager) {
        Set<NDArray> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
        arrays.addAll(manager.getManagedArrays());
        return arrays;
    }
}
