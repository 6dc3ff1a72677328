package org.orpo4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradientTensors;
import org.orpo4j.train.AdamW;
import org.orpo4j.train.OrpoConfig;

/**
 * Hand-run benchmark (docs/benchmarks.md#the-optimizer-step): one AdamW step over a model's parameters with random
 * gradients, torch's fused kernel ({@link AdamW#fused()}, orpo4j's JNI) against the element-wise update, runs
 * interleaved in one process, median of 5 after a warm-up each. Usage: {@code AdamWBenchmark [--case a] [--runs 5]}
 * (a case of {@link OrpoStepBenchmark}, {@code g} and {@code q} of {@link GpuStepBenchmark}).
 */
public final class AdamWBenchmark {

    private AdamWBenchmark() {}

    public static void main(String[] args) throws Exception {
        String name = "a";
        int runs = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--case" -> name = args[++i];
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("usage: AdamWBenchmark [--case a] [--runs 5]");
            }
        }
        Class.forName(GpuStepBenchmark.class.getName()); // its cases g and q
        OrpoStepBenchmark.Case c = OrpoStepBenchmark.CASES.get(name);
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(c.config(), root, 1)) {
            Map<String, NDArray> params = lm.parameters();
            GradientTensors.materialize(params.values()); // zero gradients: the step reads them
            OrpoConfig config = OrpoConfig.builder().weightDecay(0.01).build();
            try (AdamW fused = AdamW.of(params, config); AdamW elementWise = AdamW.elementWise(params, config)) {
                if (!fused.fused()) {
                    throw new IllegalStateException("no fused AdamW: orpo4j's JNI is not loaded");
                }
                AdamW[] optimizers = {elementWise, fused};
                double[][] seconds = new double[2][runs];
                for (int r = -1; r < runs; r++) { // r = -1: the warm-up of each
                    for (int k = 0; k < 2; k++) {
                        long t0 = System.nanoTime();
                        optimizers[k].step(1e-5);
                        try (NDArray probe = params.values().iterator().next().sum()) {
                            probe.getFloat(); // waits for a GPU
                        }
                        if (r >= 0) {
                            seconds[k][r] = (System.nanoTime() - t0) / 1e9;
                        }
                    }
                }
                long count = params.values().stream().mapToLong(NDArray::size).sum();
                double slow = median(seconds[0]);
                double fast = median(seconds[1]);
                System.out.printf(Locale.ROOT, "case %s, %d parameters on %s: element-wise %.3f s, fused %.3f s"
                        + " (%.2fx faster)%n", name, count, root.getDevice(), slow, fast, slow / fast);
            }
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
