package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.runtime.DjlRuntime;

/**
 * The loss's backward pass reads only memory libtorch owns: a garbage collection between the loss and its
 * backward, followed by new Java-backed arrays that reuse the freed buffers, leaves the gradients unchanged.
 * (DJL's {@code create(...)} arrays view Java direct buffers; its {@code toType} to the same type is no copy.)
 */
class GcSafetyTest {

    private static final int VOCAB = 40;

    @Test
    void sharedPromptLossGradientsSurviveAGarbageCollection() throws Exception {
        SharedPromptLayout layout = SharedPromptLayout.of(List.of(
                new SharedPromptLayout.Pair(ids(1, 6), ids(2, 5), ids(3, 7), 0, 0),
                new SharedPromptLayout.Pair(ids(4, 2), ids(5, 4), ids(6, 3), 1, 0)));
        SharedPromptLayout.Predictions predictions = layout.predictions(true);
        float[] calm = gradient(predictions, false);
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(calm, gradient(predictions, true), "attempt " + i);
        }
    }

    /** The chunked loss's gather of the predicting positions reads its index in backward: it must own it too. */
    @Test
    void chunkedSharedPromptGradientsSurviveAGarbageCollection() throws Exception {
        SharedPromptLayout layout = SharedPromptLayout.of(List.of(
                new SharedPromptLayout.Pair(ids(1, 6), ids(2, 5), ids(3, 7), 0, 0),
                new SharedPromptLayout.Pair(ids(4, 2), ids(5, 4), ids(6, 3), 1, 0)));
        float[] calm = chunkedGradient(layout, false);
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(calm, chunkedGradient(layout, true), "attempt " + i);
        }
    }

    /** d loss / d hidden [1, L, H] of the chunked packed loss (chunks of 3 positions), GC and churn as below. */
    private static float[] chunkedGradient(SharedPromptLayout layout, boolean collect) throws Exception {
        int width = 8;
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                GradientCollector collector = manager.getEngine().newGradientCollector()) {
            Random r = new Random(11);
            float[] h = new float[layout.length() * width];
            float[] w = new float[VOCAB * width];
            for (int i = 0; i < h.length; i++) {
                h[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) r.nextGaussian() * 0.3f;
            }
            NDArray hidden = manager.create(h, new Shape(1, layout.length(), width)).duplicate();
            hidden.setRequiresGradient(true);
            NDArray head = manager.create(w, new Shape(VOCAB, width)).duplicate();
            NDArray loss = ChunkedOrpoLoss.of(OrpoLoss.builder().build(), 3L * VOCAB)
                    .compute(hidden, head, layout.predictions(true), 1.0).loss();
            if (collect) {
                churn(manager, layout.length() * width);
            }
            collector.backward(loss);
            return hidden.getGradient().toFloatArray();
        }
    }

    /** A collection, then fresh Java-backed buffers of every size up to {@code 4 * n * n}, full of 1000s. */
    private static void churn(NDManager manager, int n) throws InterruptedException {
        System.gc();
        Thread.sleep(50); // the cleaner frees the unreachable direct buffers
        List<NDArray> churn = new ArrayList<>();
        for (int size = 1; size <= 4 * n * n; size *= 2) {
            float[] junk = new float[size];
            java.util.Arrays.fill(junk, 1000f);
            for (int k = 0; k < 4; k++) {
                churn.add(manager.create(junk));
            }
        }
        long[] longs = new long[64];
        java.util.Arrays.fill(longs, 1000L);
        for (int k = 0; k < 64; k++) {
            churn.add(manager.create(longs)); // long buffers too: an index reused would point far out
        }
    }

    /** d loss / d logits [N, V] of the packed loss, with or without a GC and buffer churn before backward. */
    private static float[] gradient(SharedPromptLayout.Predictions predictions, boolean collect) throws Exception {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                GradientCollector collector = manager.getEngine().newGradientCollector()) {
            int n = predictions.count();
            float[] values = new float[n * VOCAB];
            Random r = new Random(7);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) r.nextGaussian();
            }
            NDArray logits = manager.create(values, new Shape(n, VOCAB)).duplicate();
            logits.setRequiresGradient(true);
            NDArray loss = OrpoLoss.builder().build().compute(logits, predictions).loss();
            if (collect) {
                churn(manager, n);
            }
            collector.backward(loss);
            return logits.getGradient().toFloatArray();
        }
    }

    private static long[] ids(int seed, int length) {
        Random r = new Random(seed);
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = 1 + r.nextInt(VOCAB - 1);
        }
        return ids;
    }
}
