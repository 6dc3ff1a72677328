package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.GradientTensors;

/**
 * Gradient checkpointing and blocked attention are exact: for every family (llama untied and tied with rope
 * scaling, qwen2 with biases, qwen3 with q/k norms, mistral with a 5-token sliding window) and a right-padded batch,
 * the parameter gradients of the ORPO loss with checkpointing (and with attention forced into blocks of 2 query
 * rows in the checkpointed forward) equal the plain path's within 1e-6 relative (‖Δ‖/‖g‖ over all of them; each
 * tensor within float32 rounding, 1e-5); eval logits with blocked attention equal full attention's within 1e-6.
 */
class CheckpointingTest {

    @Test
    void gradientsMatchThePlainPathForEveryFamily() throws Exception {
        for (String family : Golden.CASES) {
            try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                    CausalLm model = CausalLm.load(Golden.dir(family), manager)) {
                Map<String, float[]> plain = gradients(model, false);
                long saved = Attention.queryBlockValues;
                Map<String, float[]> checkpointed;
                Map<String, float[]> blocked;
                try {
                    checkpointed = gradients(model, true);
                    Attention.queryBlockValues = 2L * 6 * 4; // N·Hq·S = 6·4·S: blocks of 2 query rows
                    blocked = gradients(model, true);
                } finally {
                    Attention.queryBlockValues = saved;
                }
                double worst = 0;
                for (String name : plain.keySet()) { // each tensor: float32 rounding at most
                    worst = Math.max(worst, relative(plain.get(name), checkpointed.get(name), 1e-5, family + " " + name));
                    worst = Math.max(worst, relative(plain.get(name), blocked.get(name), 1e-5, family + " " + name));
                }
                System.out.printf("%s: relative gradient difference, all tensors: checkpointed %.2e, checkpointed with"
                        + " blocked attention %.2e; worst tensor %.2e%n", family,
                        relative(concat(plain), concat(checkpointed), 1e-6, family + " checkpointed"),
                        relative(concat(plain), concat(blocked), 1e-6, family + " blocked"), worst);
            }
        }
    }

    @Test
    void blockedAttentionGivesTheSameLogits() throws Exception {
        for (String family : Golden.CASES) {
            try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                    CausalLm model = CausalLm.load(Golden.dir(family), manager);
                    GradMode off = GradMode.enabled(false)) {
                NDArray[] batch = batch(manager, model.config().vocabSize(), PADDED);
                float[] full = model.forward(batch[0], batch[1]).toFloatArray();
                long saved = Attention.queryBlockValues;
                float[] blocked;
                try {
                    Attention.queryBlockValues = 3;
                    blocked = model.forward(batch[0], batch[1]).toFloatArray();
                } finally {
                    Attention.queryBlockValues = saved;
                }
                relative(full, blocked, 1e-6, family + " logits");
            }
        }
    }

    /** Row lengths of the padded batch: 3 pairs of at most 9 tokens. */
    static final int[] PADDED = {9, 7, 5, 8, 9, 6};

    /** Every parameter's gradient of the ORPO loss of one fixed padded batch. */
    private static Map<String, float[]> gradients(CausalLm model, boolean checkpoint) {
        return gradients(model, checkpoint, PADDED);
    }

    /** Every parameter's gradient of the ORPO loss of one fixed batch whose rows have these lengths (of 9). */
    static Map<String, float[]> gradients(CausalLm model, boolean checkpoint, int[] lengths) {
        Map<String, NDArray> params = model.parameters();
        GradientTensors.materialize(params.values());
        params.values().forEach(p -> GradientTensors.of(p).subi(GradientTensors.of(p)));
        try (NDManager step = model.parameters().values().iterator().next().getManager().newSubManager();
                GradientCollector collector = step.getEngine().newGradientCollector()) {
            NDArray[] batch = batch(step, model.config().vocabSize(), lengths);
            TrainingForward forward = model.trainingForward(batch[0], batch[1], checkpoint, null);
            NDArray logits = model.logits(forward.hidden());
            collector.backward(OrpoLoss.builder().build().compute(logits, batch[0], batch[1], batch[2]).loss());
            forward.backward();
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((name, p) -> out.put(name, GradientTensors.of(p).toFloatArray()));
        return out;
    }

    /** 3 pairs (6 rows) of 9 tokens, each row right-padded to 9 from its length, prompts of 3 tokens. */
    private static NDArray[] batch(NDManager m, long vocab, int[] lengths) {
        Random r = new Random(5);
        int rows = 6;
        int t = 9;
        long[] ids = new long[rows * t];
        long[] mask = new long[rows * t];
        long[] labels = new long[rows * t];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < t; j++) {
                boolean real = j < lengths[i];
                ids[i * t + j] = real ? 3 + r.nextInt((int) vocab - 3) : 0;
                mask[i * t + j] = real ? 1 : 0;
                labels[i * t + j] = real && j >= 3 ? ids[i * t + j] : OrpoLoss.IGNORE_INDEX;
            }
        }
        Shape shape = new Shape(rows, t);
        return new NDArray[] {m.create(ids, shape), m.create(mask, shape), m.create(labels, shape)};
    }

    private static float[] concat(Map<String, float[]> tensors) {
        float[] all = new float[tensors.values().stream().mapToInt(t -> t.length).sum()];
        int at = 0;
        for (float[] t : tensors.values()) {
            System.arraycopy(t, 0, all, at, t.length);
            at += t.length;
        }
        return all;
    }

    /**
     * ‖a − b‖ / ‖a‖, asserted ≤ {@code tolerance}. Checkpointing runs the same kernels on the same values; blocked
     * attention multiplies matrices of other shapes, which float32 rounds differently.
     */
    private static double relative(float[] a, float[] b, double tolerance, String what) {
        assertEquals(a.length, b.length, what);
        double norm = 0;
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
            norm += (double) a[i] * a[i];
            diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        }
        double rel = norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
        assertTrue(rel <= tolerance, what + ": relative difference " + rel);
        return rel;
    }
}
