package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.List;

/** Shared test plumbing: run the loss on a {@link TestBatch}, take its gradient, compare metrics. */
final class LossTesting {

    private LossTesting() {}

    static OrpoMetrics metrics(OrpoLoss loss, TestBatch b, NDManager manager, DataType type) {
        try (NDManager step = manager.newSubManager()) {
            return loss.compute(b.logits(step, type), b.inputIds(step), b.attentionMask(step), b.labels(step))
                    .metrics();
        }
    }

    /** d loss / d logits, flattened [2B·T·V], by autograd. */
    static double[] gradient(OrpoLoss loss, TestBatch b, NDManager manager, DataType type) {
        try (NDManager step = manager.newSubManager()) {
            NDArray logits = b.logits(step, type);
            logits.setRequiresGradient(true);
            try (GradientCollector collector = step.getEngine().newGradientCollector()) {
                OrpoLoss.Output out = loss.compute(logits, b.inputIds(step), b.attentionMask(step), b.labels(step));
                collector.backward(out.loss());
            }
            try (NDArray grad = logits.getGradient()) {
                return doubles(grad);
            }
        }
    }

    static double[] doubles(NDArray array) {
        if (array.getDataType() == DataType.FLOAT64) {
            return array.toDoubleArray();
        }
        float[] f = array.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Each metric within {@code abs + rel·|expected|}, the failure naming the metric. */
    static void assertMetricsClose(OrpoMetrics expected, OrpoMetrics actual, double abs, double rel) {
        double[] e = expected.values();
        double[] a = actual.values();
        List<String> names = OrpoMetrics.NAMES;
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], a[i], abs + rel * Math.abs(e[i]), names.get(i));
        }
    }

    static void assertAllFinite(double[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            assertTrue(Double.isFinite(values[i]), what + "[" + i + "] = " + values[i]);
        }
    }
}
