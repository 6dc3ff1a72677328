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
                System.gc();
                Thread.sleep(50); // the cleaner frees the unreachable direct buffers
                List<NDArray> churn = new ArrayList<>();
                for (int size = 1; size <= 4 * n * n; size *= 2) { // fresh buffers of every size, full of 1000s
                    float[] junk = new float[size];
                    java.util.Arrays.fill(junk, 1000f);
                    for (int k = 0; k < 4; k++) {
                        churn.add(manager.create(junk));
                    }
                }
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
