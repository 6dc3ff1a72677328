package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.loss.OrpoMetrics;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.GradMode;

/**
 * TRL's {@code eval_} metrics over an evaluation set in file order, without gradients, through the same batches as
 * training: shared-prompt rows padded as TRL's two rows ({@link StepBatch}), so each prompt runs once while
 * {@code eval_logits/*} keep TRL's definition over the padded rows.
 */
final class Evaluation {

    private final CausalLm model;
    private final OrpoConfig config;
    private final StepLoss stepLoss;

    Evaluation(CausalLm model, OrpoConfig config, StepLoss stepLoss) {
        this.model = model;
        this.config = config;
        this.stepLoss = stepLoss;
    }

    /**
     * The {@code eval_} metrics: batch means as TRL stores them, {@code eval_loss} weighted by each batch's pairs as
     * HF's evaluation loop (it repeats a batch's loss once per sample). LoRA dropout is off meanwhile.
     */
    Map<String, Double> run(PairSource eval, NDManager root) {
        List<OrpoMetrics> batches = new ArrayList<>();
        double weightedLoss = 0;
        long pairs = 0;
        Optional<LoraModel> lora = LoraModel.of(model);
        boolean training = lora.map(LoraModel::training).orElse(false);
        lora.ifPresent(l -> l.train(false));
        try (GradMode noGrad = GradMode.enabled(false)) {
            for (int[] rows : eval.batches(config.perDeviceEvalBatchSize(), 0, config.seed(), false, false)) {
                try (NDManager m = root.newSubManager()) {
                    StepBatch batch = StepBatch.of(eval, rows, config.sharedPrompt(), true, m);
                    NDArray hidden = batch.hidden(model);
                    OrpoMetrics metrics = batch.loss(stepLoss, hidden, 1.0).metrics();
                    batches.add(metrics);
                    weightedLoss += metrics.loss() * rows.length;
                    pairs += rows.length;
                }
            }
        } finally {
            lora.ifPresent(l -> l.train(training));
        }
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("the evaluation data is empty");
        }
        Map<String, Double> metrics = new LinkedHashMap<>(OrpoMetrics.mean(batches).toMap("eval_"));
        metrics.put("eval_loss", weightedLoss / pairs);
        return metrics;
    }
}
