package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.data.PreferenceBatch;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradientTensors;

/**
 * The shared-prompt layout computes what the two-row layout computes: for every family (windows shorter than the
 * pairs, phi3's long RoPE factors, smollm3's layers without RoPE, gemma's soft-caps) and three pairs with prompts
 * of 5, 1 and 7 tokens, answers of 2 to 6 and prompt tails, the loss, every metric and every parameter gradient
 * equal the two-row path's within 1e-5 relative (metrics: relative to max(|value|, 1), since log_odds_chosen and
 * the margins are small differences of log-probs near −3), with the plain loss, the chunked loss and gradient
 * checkpointing, with and without the prompt in the NLL.
 * The {@code logits/*} metrics average the rows' real predicting positions (the two-row logits give them here),
 * where TRL's average over its padded tensor.
 */
class SharedPromptExactnessTest {

    static Iterable<String> cases() {
        return Golden.CASES;
    }

    record Result(Map<String, Double> metrics, Map<String, float[]> gradients, double[] realLogitsMeans) {}

    @ParameterizedTest
    @MethodSource("cases")
    void lossMetricsAndGradientsEqualTheTwoRowLayout(String name) throws Exception {
        List<TokenizedPair> pairs = pairs(name.hashCode());
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(Golden.dir(name), manager)) {
            for (boolean promptLoss : new boolean[] {true, false}) {
                OrpoLoss loss = OrpoLoss.builder().promptLoss(promptLoss).build();
                Result twoRow = twoRow(model, pairs, loss);
                for (String variant : new String[] {"plain", "chunked", "checkpointed"}) {
                    Result packed = packed(model, pairs, loss, variant);
                    String what = name + " (" + variant + ", promptLoss " + promptLoss + ")";
                    twoRow.metrics().forEach((metric, value) -> {
                        double got = packed.metrics().get(metric);
                        if (metric.startsWith("logits/")) { // over the real predicting positions
                            double want = twoRow.realLogitsMeans()[metric.endsWith("chosen") ? 0 : 1];
                            assertEquals(want, got, 1e-5 * Math.max(1, Math.abs(want)), what + " " + metric);
                        } else {
                            assertEquals(value, got, 1e-5 * Math.max(1, Math.abs(value)), what + " " + metric);
                        }
                    });
                    double worst = 0;
                    for (String tensor : twoRow.gradients().keySet()) {
                        worst = Math.max(worst, relative(twoRow.gradients().get(tensor),
                                packed.gradients().get(tensor)));
                    }
                    assertTrue(worst <= 1e-5, what + ": gradient relative difference " + worst);
                    System.out.printf("%s: worst gradient tensor %.1e%n", what, worst);
                }
            }
        }
    }

    /** Three pairs: prompts 5, 1, 7; answers 4/6, 6/3, 2/5; the second chosen and the third rejected with a tail. */
    static List<TokenizedPair> pairs(long seed) {
        Random r = new Random(seed);
        int[][] lengths = {{5, 4, 6}, {1, 6, 3}, {7, 2, 5}};
        int[][] tails = {{0, 0}, {1, 0}, {0, 1}};
        List<TokenizedPair> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            out.add(new TokenizedPair(tokens(r, lengths[i][0]), tokens(r, lengths[i][1]), tokens(r, lengths[i][2]), 0,
                    tails[i][0], tails[i][1]));
        }
        return out;
    }

    private static long[] tokens(Random r, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + r.nextInt(29); // within every golden vocabulary
        }
        return ids;
    }

    private static Result twoRow(CausalLm model, List<TokenizedPair> pairs, OrpoLoss loss) {
        zeroGradients(model);
        PreferenceBatch batch = PreferenceBatch.collate(pairs, new int[] {0, 1, 2}, 0);
        Map<String, Double> metrics;
        double[] realMeans;
        try (NDManager step = model.parameters().values().iterator().next().getManager().newSubManager();
                GradientCollector collector = step.getEngine().newGradientCollector()) {
            NDList arrays = batch.toNDList(step);
            NDArray logits = model.forward(arrays.get(0), arrays.get(1)); // [2B, T, V]
            OrpoLoss.Output o = loss.compute(logits, arrays.get(0), arrays.get(1), arrays.get(2));
            collector.backward(o.loss());
            metrics = o.metrics().toMap("");
            realMeans = realLogitsMeans(logits.stopGradient(), arrays.get(1));
        }
        return new Result(metrics, gradients(model), realMeans);
    }

    static Result packed(CausalLm model, List<TokenizedPair> pairs, OrpoLoss loss, String variant) {
        zeroGradients(model);
        List<SharedPromptLayout.Pair> parts = new ArrayList<>();
        for (TokenizedPair p : pairs) {
            parts.add(new SharedPromptLayout.Pair(p.prompt(), p.chosen(), p.rejected(), p.chosenPromptTail(),
                    p.rejectedPromptTail()));
        }
        SharedPromptLayout layout = SharedPromptLayout.of(parts);
        SharedPromptLayout.Predictions predictions = layout.predictions(loss.promptLoss());
        Map<String, Double> metrics;
        try (NDManager step = model.parameters().values().iterator().next().getManager().newSubManager();
                GradientCollector collector = step.getEngine().newGradientCollector()) {
            NDArray ids = step.create(layout.ids(), new Shape(1, layout.length()));
            TrainingForward forward = model.trainingForward(ids, layout, variant.equals("checkpointed"), null);
            OrpoLoss.Output o;
            if (variant.equals("plain")) {
                NDArray index = step.create(predictions.position()).toType(DataType.INT64, false);
                NDArray hidden = forward.hidden().reshape(layout.length(), -1).get(index); // [N, H]
                o = loss.compute(model.logits(hidden), predictions);
            } else {
                o = ChunkedOrpoLoss.of(loss, 5L * model.config().vocabSize()).withLogitSoftcapping(
                        model.config().finalLogitSoftcapping()).compute(forward.hidden(), model.lmHeadWeight(),
                                predictions, 1);
            }
            collector.backward(o.loss());
            forward.backward();
            metrics = o.metrics().toMap("");
        }
        return new Result(metrics, gradients(model), null);
    }

    /** The mean logit over the real predicting positions (mask[t + 1] = 1) of the chosen and the rejected rows. */
    private static double[] realLogitsMeans(NDArray logits, NDArray mask) {
        long rows = logits.getShape().get(0);
        long t = logits.getShape().get(1);
        long vocab = logits.getShape().get(2);
        float[] z = logits.toFloatArray();
        long[] m = mask.toType(DataType.INT64, false).toLongArray();
        double[] sums = new double[2];
        long[] counts = new long[2];
        for (int row = 0; row < rows; row++) {
            int half = row < rows / 2 ? 0 : 1;
            for (int pos = 0; pos + 1 < t; pos++) {
                if (m[(int) (row * t + pos + 1)] == 0) {
                    continue;
                }
                for (int v = 0; v < vocab; v++) {
                    sums[half] += z[(int) ((row * t + pos) * vocab + v)];
                }
                counts[half] += vocab;
            }
        }
        return new double[] {sums[0] / counts[0], sums[1] / counts[1]};
    }

    private static void zeroGradients(CausalLm model) {
        Map<String, NDArray> params = model.parameters();
        GradientTensors.materialize(params.values());
        params.values().forEach(p -> GradientTensors.of(p).subi(GradientTensors.of(p)));
    }

    private static Map<String, float[]> gradients(CausalLm model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.parameters().forEach((name, p) -> out.put(name, GradientTensors.of(p).toFloatArray()));
        return out;
    }

    /** ‖a − b‖ / ‖a‖. */
    private static double relative(float[] a, float[] b) {
        double norm = 0;
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
            norm += (double) a[i] * a[i];
            diff += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }
}
