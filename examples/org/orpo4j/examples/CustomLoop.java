package org.orpo4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.Gradients;

/**
 * {@link OrpoLoss} inside your own DJL loop: your batching, your optimizer (DJL's Adam here), your step. Only the
 * loss comes from orpo4j (plus its gradient helpers, since DJL's collector never zeroes gradients).
 * <pre>CustomLoop MODEL_DIR PAIRS.jsonl [STEPS]</pre>
 */
public final class CustomLoop {

    public static void main(String[] args) throws Exception {
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        List<Double> losses = train(Path.of(args[0]), Path.of(args[1]), steps, 1e-4f);
        System.out.println("loss " + losses.get(0) + " -> " + losses.get(losses.size() - 1));
    }

    /** Runs {@code steps} optimizer steps of 4 pairs each and returns the loss of every step. */
    public static List<Double> train(Path modelDir, Path pairs, int steps, float learningRate) throws Exception {
        OrpoLoss orpo = OrpoLoss.builder().beta(0.1).alpha(1.0).build(); // TRL's defaults
        Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(learningRate)).build();
        List<Double> losses = new ArrayList<>();
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm model = CausalLm.load(modelDir, manager);
                HfTokenizer tokenizer = HfTokenizer.load(modelDir)) {
            PreferenceDataset data = PreferenceDataset.load(pairs, tokenizer, DataOptions.defaults());
            Map<String, NDArray> params = model.parameters();
            NDManager paramManager = params.values().iterator().next().getManager();
            int perEpoch = data.batches(4, 0, 42, true, false).size();
            List<int[]> order = List.of();
            for (int step = 0; step < steps; step++) {
                if (step % perEpoch == 0) { // a new shuffle each epoch
                    order = data.batches(4, step / perEpoch, 42, true, false);
                }
                int[] rows = order.get(step % perEpoch);
                // everything a step creates lives in its own manager, closed at the end of the step
                try (NDManager stepManager = paramManager.newSubManager()) {
                    NDList batch = data.collate(rows).toNDList(stepManager); // [2B, T] ids, mask, labels
                    NDArray ids = batch.get(0);
                    NDArray mask = batch.get(1);
                    try (GradientCollector collector = DjlRuntime.engine().newGradientCollector()) {
                        NDArray logits = model.forward(ids, mask); // [2B, T, V]
                        OrpoLoss.Output out = orpo.compute(logits, ids, mask, batch.get(2));
                        collector.backward(out.loss());
                        losses.add(out.metrics().loss());
                        if (step % 10 == 0) {
                            System.out.printf("step %d loss %.4f rewards/accuracies %.2f%n", step,
                                    out.metrics().loss(), out.metrics().rewardsAccuracies());
                        }
                    }
                    Gradients.clipGlobalNorm(params.values(), 1.0);
                    for (Map.Entry<String, NDArray> p : params.entrySet()) {
                        try (NDArray grad = p.getValue().getGradient()) { // a new handle per call: close it
                            adam.update(p.getKey(), p.getValue(), grad);
                        }
                    }
                    Gradients.zero(params.values()); // the collector only accumulates
                }
            }
        }
        return losses;
    }
}
