package org.orpo4j.bench;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;

/**
 * Hand-run benchmark of evaluation on the shared-prompt layout against TRL's two rows (docs/benchmarks.md#evaluation):
 * {@code OrpoTrainer.evaluate} of the SmolLM2-135M shape on batches of 2 pairs of 384 + 128 + 128 tokens (prompt,
 * chosen, rejected), both layouts in one JVM on the same model, runs interleaved, 1 warm-up each and the median of
 * 5; every {@code eval_} value of the two layouts is compared. Usage: {@code EvalBenchmark [--runs 5] [--pairs 8]}.
 */
public final class EvalBenchmark {

    private EvalBenchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = 5;
        int count = 8;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--pairs" -> count = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("usage: EvalBenchmark [--runs 5] [--pairs 8]");
            }
        }
        OrpoStepBenchmark.Case shape = OrpoStepBenchmark.CASES.get("a"); // SmolLM2-135M
        Random random = new Random(11);
        List<TokenizedPair> pairs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            pairs.add(new TokenizedPair(tokens(random, 384, shape.vocab()), tokens(random, 128, shape.vocab()),
                    tokens(random, 128, shape.vocab()), 0));
        }
        PairSource source = PairSource.of(PreferenceDataset.of(pairs, 0));
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(shape.config(), root, 1)) {
            double[][] times = new double[2][runs];
            List<OrpoTrainer> trainers = new ArrayList<>();
            List<Map<String, Double>> metrics = new ArrayList<>();
            for (int layout = 0; layout < 2; layout++) {
                OrpoTrainer trainer = new OrpoTrainer(lm, OrpoConfig.builder().perDeviceEvalBatchSize(2)
                        .sharedPrompt(layout == 1).build());
                trainers.add(trainer);
                metrics.add(trainer.evaluate(source)); // warm-up
            }
            for (int r = 0; r < runs; r++) { // interleaved, so a busy moment of the machine hits both layouts
                for (int layout = 0; layout < 2; layout++) {
                    long start = System.nanoTime();
                    trainers.get(layout).evaluate(source);
                    times[layout][r] = (System.nanoTime() - start) / 1e9;
                    System.out.printf(Locale.ROOT, "%s run %d: %.3f s%n", layout == 0 ? "two rows" : "shared prompt",
                            r, times[layout][r]);
                }
            }
            Arrays.sort(times[0]);
            Arrays.sort(times[1]);
            double worst = 0;
            String worstName = "";
            for (String name : metrics.get(0).keySet()) {
                double a = metrics.get(0).get(name);
                double d = Math.abs(a - metrics.get(1).get(name)) / Math.max(1, Math.abs(a));
                if (d > worst) {
                    worst = d;
                    worstName = name;
                }
            }
            double twoRows = times[0][runs / 2];
            double shared = times[1][runs / 2];
            System.out.printf(Locale.ROOT, "%nSmolLM2-135M shape, %d pairs of 384 + 128 + 128 tokens in batches of 2,"
                    + " median of %d:%n  two rows      %.3f s%n  shared prompt %.3f s%n  speed-up %.2fx; largest"
                    + " eval_ difference %.1e (%s, relative to max(1, |value|))%n", count, runs, twoRows, shared,
                    twoRows / shared, worst, worstName);
        }
    }

    private static long[] tokens(Random random, int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 1 + random.nextInt(vocab - 1);
        }
        return ids;
    }
}
