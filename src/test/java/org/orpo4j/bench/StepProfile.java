package org.orpo4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.Locale;
import java.util.Map;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.TrainingForward;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.AdamW;
import org.orpo4j.train.Gradients;
import org.orpo4j.train.OrpoConfig;

/**
 * Where a training step's time goes: libtorch's own profiler (DJL's {@code JniUtils.startProfile}) around one step
 * of OrpoStepBenchmark's case (forward, loss, backward, AdamW; no checkpointing) after two warm-up steps, written as a
 * Chrome trace; {@code src/test/python/bench/profile_summary.py} sums it per operator next to torch.profiler's table
 * of the same step in PyTorch ({@code orpo_step_hf.py --profile}). Usage: {@code StepProfile CASE PATH TRACE.json}
 * with PATH {@code plain} or {@code chunked}.
 */
public final class StepProfile {

    private StepProfile() {}

    public static void main(String[] args) throws Exception {
        OrpoStepBenchmark.Case c = OrpoStepBenchmark.CASES.get(args[0]);
        boolean chunked = args[1].equals("chunked");
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(c.config(), root, 1)) {
            Map<String, NDArray> params = lm.parameters();
            try (AdamW adam = AdamW.of(params, OrpoConfig.builder().build())) {
                OrpoLoss loss = OrpoLoss.builder().build();
                ChunkedOrpoLoss chunkedLoss = ChunkedOrpoLoss.of(loss);
                Gradients.zero(params.values());
                long[][] batch = OrpoStepBenchmark.batch(c);
                for (int s = 0; s < 3; s++) {
                    if (s == 2) {
                        JniUtils.startProfile(false, true, false);
                    }
                    long t0 = System.nanoTime();
                    try (NDManager step = root.newSubManager()) {
                        NDList arrays = OrpoStepBenchmark.arrays(c, batch, step); // ids, mask, labels [2B, T]
                        try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                            TrainingForward forward = lm.trainingForward(arrays.get(0), arrays.get(1), false, null);
                            OrpoLoss.Output out = chunked
                                    ? chunkedLoss.compute(forward.hidden(), lm.lmHeadWeight(), arrays.get(0),
                                            arrays.get(1), arrays.get(2))
                                    : loss.compute(lm.logits(forward.hidden()), arrays.get(0), arrays.get(1),
                                            arrays.get(2));
                            collector.backward(out.loss());
                            forward.backward();
                        }
                    }
                    adam.step(1e-5);
                    Gradients.zero(params.values());
                    if (s == 2) {
                        JniUtils.stopProfile(args[2]);
                    }
                    System.out.printf(Locale.ROOT, "step %d: %.3f s%n", s, (System.nanoTime() - t0) / 1e9);
                }
            }
        }
    }
}
