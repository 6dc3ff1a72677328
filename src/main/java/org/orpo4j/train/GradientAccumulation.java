package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.orpo4j.loss.NonFiniteLogitsException;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.loss.OrpoMetrics;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.TrainingForward;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One optimizer step's forward and backward passes: up to G micro-batches (fewer when the epoch ends), each in its
 * own manager, each backpropagating {@code loss / g} (times the fp16 loss scale) and moving its gradients into the
 * float32 masters at once under mixed precision.
 */
final class GradientAccumulation {

    private static final Logger LOG = LoggerFactory.getLogger(GradientAccumulation.class);

    private final CausalLm model;
    private final OrpoConfig config;
    private final StepLoss stepLoss;
    private final PairSource train;
    private final boolean sharedPrompt;

    GradientAccumulation(CausalLm model, OrpoConfig config, StepLoss stepLoss, PairSource train, boolean sharedPrompt) {
        this.model = model;
        this.config = config;
        this.stepLoss = stepLoss;
        this.train = train;
        this.sharedPrompt = sharedPrompt;
    }

    /**
     * Runs the step's micro-batches from {@code order} at the state's data position, advancing it. Returns the mean
     * of the micro-batch metrics (TRL names), or null when a micro-batch's logits are not finite: the step's other
     * micro-batches are then consumed unseen, so the data position stays that of a normal step.
     */
    Map<String, Double> run(List<int[]> order, TrainerState state, NDManager root, TrainingPrecision precision,
            TrainedWeights weights) {
        int g = Math.min(config.gradientAccumulationSteps(), state.microBatchesPerEpoch() - state.microBatchInEpoch());
        double gradScale = precision.lossScale() / g;
        List<OrpoMetrics> micro = new ArrayList<>(g);
        boolean finite = true;
        for (int i = 0; i < g; i++) {
            try (NDManager mb = root.newSubManager()) {
                StepBatch batch = StepBatch.of(train, order.get(state.microBatchInEpoch()), sharedPrompt, false, mb);
                if (finite) {
                    // a number unique to this micro-batch's place in the run: dropout masks survive a resume
                    IntConsumer layerSeeds = weights.layerSeeds(config.seed() * 1_000_003L
                            + (long) state.epochIndex() * state.microBatchesPerEpoch() + state.microBatchInEpoch());
                    try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                        TrainingForward forward = batch.forward(model, config.gradientCheckpointing(), layerSeeds);
                        OrpoLoss.Output o = batch.loss(stepLoss, forward.hidden(), gradScale);
                        collector.backward(o.loss());
                        forward.backward(); // the checkpointed layers' share
                        precision.microBatchToMasters(); // summed in float32, as HF accumulates
                        micro.add(o.metrics());
                    } catch (NonFiniteLogitsException e) {
                        LOG.debug("non-finite logits: {}", e.getMessage());
                        finite = false;
                    }
                }
                state.microBatchConsumed(batch.realTokens(), batch.computedTokens());
            }
        }
        return finite ? new LinkedHashMap<>(OrpoMetrics.mean(micro).toMap("")) : null;
    }
}
