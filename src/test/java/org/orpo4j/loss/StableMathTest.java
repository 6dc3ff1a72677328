package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.WithCpuManager;

/** The stable primitives against java.lang.Math (log1p, expm1) in value and derivative, in float64 and float32. */
class StableMathTest extends WithCpuManager {

    private static final double[] LOG_PROBS = {
        -1e-25, -1e-12, -1e-7, -1e-3, -0.3, -0.69, -0.6932, -1.0, -5.0, -20.0, -50.0, -700.0
    };

    @Test
    void log1mexpMatchesMathInValueAndDerivative() {
        check(StableMath::log1mexp, ReferenceOrpo::log1mexp, x -> -1 / Math.expm1(-x), LOG_PROBS, 1e-13, 2e-6);
    }

    @Test
    void logSigmoidMatchesMathInValueAndDerivative() {
        double[] z = {-800, -50, -3, -1e-9, 0, 1e-9, 2, 40, 800};
        check(StableMath::logSigmoid, ReferenceOrpo::logSigmoid, v -> 1 / (1 + Math.exp(v)), z, 1e-14, 1e-6);
        // at z = 0 the derivative is σ(0) = 1/2 exactly: the branch switch adds no kink
        assertEquals(0.5, derivatives(StableMath::logSigmoid, new double[] {0}, DataType.FLOAT64)[0], 0.0);
    }

    @Test
    void log1pMatchesMathInValueAndDerivative() {
        double[] y = {-0.5, -1e-9, -1e-20, 0, 1e-20, 1e-8, 0.3, 1.0};
        check(StableMath::log1p, Math::log1p, v -> 1 / (1 + v), y, 1e-15, 1e-6);
    }

    /** p = 1 exactly (log-prob 0): the naive form is −∞ with a NaN/∞ gradient; ours is capped and finite. */
    @Test
    void log1mexpIsFiniteAtZeroWhereTheNaiveFormIsNot() {
        NDArray x = root.create(new float[] {0f, -1e-9f});
        float[] naive = x.exp().neg().add(1).log().toFloatArray();
        assertEquals(Float.NEGATIVE_INFINITY, naive[0], "naive log(1 - e^0)");
        assertEquals(Float.NEGATIVE_INFINITY, naive[1], "naive log(1 - e^-1e-9): e^x rounds to 1 in float32");
        float[] stable = StableMath.log1mexp(x).toFloatArray();
        assertEquals(Math.log(-StableMath.LOG1MEXP_MAX_X), stable[0], 1e-5);
        assertEquals(Math.log(1e-9), stable[1], 1e-5);
        double[] grad = derivatives(StableMath::log1mexp, new double[] {0, -1e-9}, DataType.FLOAT32);
        LossTesting.assertAllFinite(grad, "d log1mexp");
        assertEquals(-1e9, grad[1], 1e9 * 1e-5); // d/dx log(1 − e^x) = −1/expm1(−x)
    }

    /** p → 0: the naive form returns exactly 0 (all relative precision lost); ours keeps −e^x. */
    @Test
    void log1mexpKeepsPrecisionForImprobableCompletions() {
        NDArray x = root.create(new float[] {-30f});
        assertEquals(0f, x.exp().neg().add(1).log().getFloat(), 0f, "naive log(1 - e^-30) in float32");
        assertEquals(-Math.exp(-30), StableMath.log1mexp(x).getFloat(), Math.exp(-30) * 1e-6);
    }

    /** Value in float64 (tight) and float32 (loose), derivative in float64, dtype kept. */
    private static void check(UnaryOperator<NDArray> f, DoubleUnaryOperator value, DoubleUnaryOperator derivative,
            double[] xs, double rel64, double rel32) {
        double[] v64 = LossTesting.doubles(f.apply(root.create(xs)));
        float[] xs32 = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            xs32[i] = (float) xs[i];
        }
        NDArray out32 = f.apply(root.create(xs32));
        assertEquals(DataType.FLOAT32, out32.getDataType());
        float[] v32 = out32.toFloatArray();
        double[] d64 = derivatives(f, xs, DataType.FLOAT64);
        for (int i = 0; i < xs.length; i++) {
            double expected = value.applyAsDouble(xs[i]);
            assertEquals(expected, v64[i], rel64 * Math.abs(expected) + 1e-300, "float64 value at " + xs[i]);
            double expected32 = value.applyAsDouble(xs32[i]);
            assertEquals(expected32, v32[i], rel32 * Math.abs(expected32) + 1e-40, "float32 value at " + xs32[i]);
            double slope = derivative.applyAsDouble(xs[i]);
            assertEquals(slope, d64[i], 1e-10 * Math.abs(slope) + 1e-300, "float64 derivative at " + xs[i]);
            assertTrue(Double.isFinite(d64[i]));
        }
    }

    private static double[] derivatives(UnaryOperator<NDArray> f, double[] xs, DataType type) {
        try (NDManager step = root.newSubManager()) {
            NDArray x = step.create(xs).toType(type, false);
            x.setRequiresGradient(true);
            try (GradientCollector collector = step.getEngine().newGradientCollector()) {
                collector.backward(f.apply(x).sum());
            }
            try (NDArray grad = x.getGradient()) {
                return LossTesting.doubles(grad);
            }
        }
    }
}
