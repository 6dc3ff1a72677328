package org.orpo4j.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.orpo4j.loss.LossTesting.assertAllFinite;
import static org.orpo4j.loss.LossTesting.assertMetricsClose;
import static org.orpo4j.loss.LossTesting.gradient;
import static org.orpo4j.loss.LossTesting.metrics;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.loss.Loss;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.WithCpuManager;

class OrpoLossTest extends WithCpuManager {

    private static final OrpoLoss TRL_DEFAULT = OrpoLoss.builder().build();

    @Test
    void defaultsAreTrls() {
        assertEquals(0.1, TRL_DEFAULT.beta());
        assertEquals(1.0, TRL_DEFAULT.alpha());
        assertTrue(TRL_DEFAULT.promptLoss());
    }

    /** (a) every metric against an independent double computation from plain arrays, float32 and float64 paths. */
    @Test
    void everyMetricMatchesIndependentDoubleComputation() {
        TestBatch b = TestBatch.handBuilt();
        OrpoMetrics expected = ReferenceOrpo.metrics(b, 1.0, 0.1, true);
        assertMetricsClose(expected, metrics(TRL_DEFAULT, b, root, DataType.FLOAT64), 1e-12, 1e-12);
        assertMetricsClose(expected, metrics(TRL_DEFAULT, b, root, DataType.FLOAT32), 2e-6, 2e-6);
        // the case covers both branches of log1mexp and a pair won by the rejected row
        double[] logps = ReferenceOrpo.averageLogps(b);
        assertTrue(logps[0] > -Math.log(2) && logps[3] > -Math.log(2), "rows 0 and 3 above -ln 2");
        assertTrue(logps[1] < -Math.log(2) && logps[2] < -Math.log(2), "rows 1 and 2 below -ln 2");
        assertEquals(0.5, expected.rewardsAccuracies());

        try (NDManager step = root.newSubManager()) {
            OrpoLoss.Output out = TRL_DEFAULT.compute(
                    b.logits(step, DataType.FLOAT32), b.inputIds(step), b.attentionMask(step), b.labels(step));
            assertEquals(new Shape(), out.loss().getShape());
            assertEquals(DataType.FLOAT32, out.loss().getDataType());
            assertEquals((float) out.metrics().loss(), out.loss().getFloat());
        }
    }

    /** (b) autograd gradient w.r.t. every logit against central finite differences, in float64. */
    @Test
    void gradientMatchesCentralFiniteDifferences() {
        TestBatch b = TestBatch.handBuilt();
        for (OrpoLoss loss : new OrpoLoss[] {
            TRL_DEFAULT, OrpoLoss.builder().alpha(0.7).beta(0.3).promptLoss(false).build()
        }) {
            double[] autograd = gradient(loss, b, root, DataType.FLOAT64);
            double h = 1e-6;
            int k = 0;
            for (int i = 0; i < b.rows(); i++) {
                for (int t = 0; t < b.length(); t++) {
                    for (int v = 0; v < b.vocab(); v++, k++) {
                        TestBatch plus = b.copy();
                        plus.logits[i][t][v] += h;
                        TestBatch minus = b.copy();
                        minus.logits[i][t][v] -= h;
                        double fd = (metrics(loss, plus, root, DataType.FLOAT64).loss()
                                        - metrics(loss, minus, root, DataType.FLOAT64).loss())
                                / (2 * h);
                        assertEquals(fd, autograd[k], 1e-8 + 1e-6 * Math.abs(fd),
                                "d loss / d logits[" + i + "," + t + "," + v + "] promptLoss=" + loss.promptLoss());
                    }
                }
            }
            // the production float32 path gives the same gradient to float32 accuracy
            double[] f32 = gradient(loss, b, root, DataType.FLOAT32);
            for (int j = 0; j < f32.length; j++) {
                assertEquals(autograd[j], f32[j], 1e-6, "float32 gradient at " + j);
            }
        }
    }

    /** (c) right padding changes only logits/*, and the padded positions get no gradient. */
    @Test
    void appendingPaddingChangesOnlyLogitsMetrics() {
        TestBatch b = TestBatch.handBuilt();
        TestBatch padded = b.padded(3, 0, 5.0);
        OrpoMetrics before = metrics(TRL_DEFAULT, b, root, DataType.FLOAT32);
        OrpoMetrics after = metrics(TRL_DEFAULT, padded, root, DataType.FLOAT32);
        double[] x = before.values();
        double[] y = after.values();
        for (int i = 0; i < x.length; i++) {
            String name = OrpoMetrics.NAMES.get(i);
            if (name.startsWith("logits/")) {
                assertTrue(Math.abs(x[i] - y[i]) > 0.5, name + " must include the pad logits: " + x[i] + " vs " + y[i]);
            } else {
                assertEquals(x[i], y[i], 1e-6 + 1e-6 * Math.abs(x[i]), name);
            }
        }
        assertMetricsClose(ReferenceOrpo.metrics(padded, 1.0, 0.1, true), after, 2e-6, 2e-6);

        double[] g = gradient(TRL_DEFAULT, b, root, DataType.FLOAT32);
        double[] gp = gradient(TRL_DEFAULT, padded, root, DataType.FLOAT32);
        int t0 = b.length();
        int tp = padded.length();
        int vocab = b.vocab();
        for (int i = 0; i < b.rows(); i++) {
            for (int t = 0; t < tp; t++) {
                for (int v = 0; v < vocab; v++) {
                    double expected = t < t0 ? g[(i * t0 + t) * vocab + v] : 0.0;
                    assertEquals(expected, gp[(i * tp + t) * vocab + v], 1e-7, "grad[" + i + "," + t + "," + v + "]");
                }
            }
        }
    }

    /** (d) p → 1 (log-prob rounds to 0 in float32) and p → 0 keep the loss and gradients finite; naive forms do not. */
    @Test
    void extremeLogProbsGiveFiniteLossAndGradients() {
        // chosen completions certain: log p = 0 exactly in float32, where log(1 − e^x) = log 0
        TestBatch certain = TestBatch.handBuilt();
        TestBatch.raiseTargets(certain.logits, certain.labels, 0, 60.0);
        TestBatch.raiseTargets(certain.logits, certain.labels, 1, 60.0);
        OrpoMetrics m = metrics(TRL_DEFAULT, certain, root, DataType.FLOAT32);
        assertEquals(0.0, m.logpsChosen(), 0.0, "float32 rounds the chosen log-probs to exactly 0");
        assertAllFinite(m.values(), "metrics (p -> 1)");
        assertTrue(m.logOddsChosen() > 60, "odds of a certain completion are huge: " + m.logOddsChosen());
        assertAllFinite(gradient(TRL_DEFAULT, certain, root, DataType.FLOAT32), "gradient (p -> 1)");
        try (NDArray c = root.create(new float[] {(float) m.logpsChosen()})) {
            float naive = c.exp().neg().add(1).log().getFloat();
            assertEquals(Float.NEGATIVE_INFINITY, naive, "naive log(1 - exp(0))");
        }

        // chosen completions impossible and rejected certain: log_odds ≈ −190, where log σ(z) = log 0
        TestBatch hopeless = TestBatch.handBuilt();
        TestBatch.raiseTargets(hopeless.logits, hopeless.labels, 0, -130.0);
        TestBatch.raiseTargets(hopeless.logits, hopeless.labels, 1, -130.0);
        TestBatch.raiseTargets(hopeless.logits, hopeless.labels, 2, 60.0);
        TestBatch.raiseTargets(hopeless.logits, hopeless.labels, 3, 60.0);
        OrpoMetrics h = metrics(TRL_DEFAULT, hopeless, root, DataType.FLOAT32);
        assertAllFinite(h.values(), "metrics (p -> 0)");
        assertTrue(h.logpsChosen() < -100, "chosen log-probs " + h.logpsChosen());
        assertTrue(h.logOddsChosen() < -150, "log odds " + h.logOddsChosen());
        assertEquals(h.logOddsChosen(), h.logOddsRatio(), 1e-3 * Math.abs(h.logOddsChosen()), "log σ(z) ≈ z");
        double[] g = gradient(TRL_DEFAULT, hopeless, root, DataType.FLOAT32);
        assertAllFinite(g, "gradient (p -> 0)");
        try (NDArray z = root.create(new float[] {(float) h.logOddsChosen()})) {
            float naive = z.neg().exp().add(1).pow(-1).log().getFloat(); // log(1 / (1 + e^−z))
            assertEquals(Float.NEGATIVE_INFINITY, naive, "naive log(sigmoid(z))");
        }
        // and the float64 reference agrees on the finite values
        assertMetricsClose(ReferenceOrpo.metrics(hopeless, 1.0, 0.1, true), h, 1e-4, 1e-5);
    }

    /** (e) alpha and beta enter only loss = nll − alpha·beta·ratio and rewards = beta·logps; promptLoss only the NLL. */
    @Test
    void alphaBetaAndPromptLossChangeTheResultExactlyAsTheFormulaSays() {
        TestBatch b = TestBatch.handBuilt();
        DataType f64 = DataType.FLOAT64;
        OrpoMetrics base = metrics(TRL_DEFAULT, b, root, f64);
        double tol = 1e-12;

        OrpoMetrics alpha = metrics(OrpoLoss.builder().alpha(2.5).build(), b, root, f64);
        assertEquals(base.loss() - 1.5 * 0.1 * base.logOddsRatio(), alpha.loss(), tol);
        assertEquals(alpha.nllLoss() - 2.5 * 0.1 * alpha.logOddsRatio(), alpha.loss(), tol);
        assertSameExcept(base, alpha, "loss");

        OrpoMetrics beta = metrics(OrpoLoss.builder().beta(0.4).build(), b, root, f64);
        assertEquals(base.nllLoss() - 0.4 * base.logOddsRatio(), beta.loss(), tol);
        assertEquals(0.4 * base.logpsChosen(), beta.rewardsChosen(), tol);
        assertEquals(0.4 * base.logpsRejected(), beta.rewardsRejected(), tol);
        assertEquals(4 * base.rewardsMargins(), beta.rewardsMargins(), tol);
        assertSameExcept(base, beta, "loss", "rewards/chosen", "rewards/rejected", "rewards/margins");

        OrpoMetrics sftOnly = metrics(OrpoLoss.builder().alpha(0).build(), b, root, f64);
        assertEquals(base.nllLoss(), sftOnly.loss(), tol);
        OrpoMetrics noReward = metrics(OrpoLoss.builder().beta(0).build(), b, root, f64);
        assertEquals(base.nllLoss(), noReward.loss(), tol);
        assertEquals(0.0, noReward.rewardsAccuracies(), "0 > 0 is false, as in TRL");

        OrpoMetrics completionOnly = metrics(OrpoLoss.builder().promptLoss(false).build(), b, root, f64);
        assertEquals(ReferenceOrpo.nll(b, false), completionOnly.nllLoss(), tol);
        assertEquals(ReferenceOrpo.nll(b, true), base.nllLoss(), tol);
        assertNotEquals(base.nllLoss(), completionOnly.nllLoss(), 1e-3);
        assertEquals(completionOnly.nllLoss() - 0.1 * base.logOddsRatio(), completionOnly.loss(), tol);
        assertSameExcept(base, completionOnly, "loss", "nll_loss");
    }

    /** Stage 2 accepts per-row sums from any path: hand-made sums give the same result as the logits path. */
    @Test
    void fromRowStatsReproducesComputeFromSumsMadeElsewhere() {
        TestBatch b = TestBatch.handBuilt();
        double[] logps = ReferenceOrpo.averageLogps(b);
        long[] counts = {2, 5, 3, 1};
        double[] logpSum = new double[4];
        double[] logitsSum = new double[4];
        for (int i = 0; i < 4; i++) {
            logpSum[i] = logps[i] * counts[i];
            for (int t = 0; t < b.length() - 1; t++) {
                for (double v : b.logits[i][t]) {
                    logitsSum[i] += v;
                }
            }
        }
        double nll = ReferenceOrpo.nll(b, true); // over 3 + 5 non-pad targets of the chosen rows
        try (NDManager step = root.newSubManager()) {
            RowStats stats = new RowStats(step.create(logpSum), counts, step.create(new double[] {nll * 3, nll * 5}),
                    new long[] {3, 5}, step.create(logitsSum), (long) (b.length() - 1) * b.vocab());
            OrpoMetrics fromSums = TRL_DEFAULT.fromRowStats(stats).metrics();
            assertMetricsClose(metrics(TRL_DEFAULT, b, root, DataType.FLOAT64), fromSums, 1e-12, 1e-12);
        }
    }

    /** Usable as a DJL Loss: evaluate(labels = [ids, mask, labels], predictions = [logits]). */
    @Test
    void worksAsDjlLoss() {
        TestBatch b = TestBatch.handBuilt();
        Loss loss = TRL_DEFAULT;
        assertInstanceOf(Loss.class, loss);
        try (NDManager step = root.newSubManager()) {
            NDList labels = new NDList(b.inputIds(step), b.attentionMask(step), b.labels(step));
            NDList predictions = new NDList(b.logits(step, DataType.FLOAT32));
            float value = loss.evaluate(labels, predictions).getFloat();
            assertEquals(ReferenceOrpo.metrics(b, 1.0, 0.1, true).loss(), value, 2e-6);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> loss.evaluate(new NDList(labels.get(0)), predictions));
            assertTrue(e.getMessage().contains("[inputIds, attentionMask, labels]"), e.getMessage());
        }
    }

    /** Nothing leaks: intermediates are closed, the inputs' root is untouched, only logits + loss remain. */
    @Test
    void leavesOnlyTheLossInTheLogitsManager() {
        TestBatch b = TestBatch.handBuilt();
        try (NDManager root = DjlRuntime.newManager(Device.cpu());
                NDManager batch = root.newSubManager();
                NDManager step = root.newSubManager()) {
            NDArray ids = b.inputIds(batch);
            NDArray mask = b.attentionMask(batch);
            NDArray labels = b.labels(batch);
            NDArray logits = b.logits(step, DataType.FLOAT32);
            logits.setRequiresGradient(true);
            try (GradientCollector collector = step.getEngine().newGradientCollector()) {
                OrpoLoss.Output out = TRL_DEFAULT.compute(logits, ids, mask, labels);
                assertEquals(2, step.getManagedArrays().size(), "the logits' root holds only logits and the loss");
                assertTrue(step.getManagedArrays().contains(out.loss()));
                collector.backward(out.loss()); // (DJL's backward adds its own ones-like seed to the loss's root)
            }
            assertEquals(3, batch.getManagedArrays().size(), "the batch root holds only ids, mask and labels");
            assertEquals(batch.getManagedArrays().size() + step.getManagedArrays().size(),
                    root.getManagedArrays().size(), "nothing attached to the parent root");
            try (NDArray grad = logits.getGradient()) {
                LossTesting.assertAllFinite(LossTesting.doubles(grad), "gradient after closing the intermediates");
            }
        }
    }

    private static void assertSameExcept(OrpoMetrics expected, OrpoMetrics actual, String... changed) {
        java.util.Set<String> skip = java.util.Set.of(changed);
        double[] e = expected.values();
        double[] a = actual.values();
        for (int i = 0; i < e.length; i++) {
            if (!skip.contains(OrpoMetrics.NAMES.get(i))) {
                assertEquals(e[i], a[i], 1e-12, OrpoMetrics.NAMES.get(i));
            }
        }
    }
}
