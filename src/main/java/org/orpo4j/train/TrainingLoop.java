package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optimizer steps of one run, HF Trainer's loop: per step the micro-batches' gradients, the global norm clipped,
 * AdamW at the scheduled rate (a step with NaN or Inf skipped, an fp16 overflow skipped without advancing the
 * schedule), the gradients zeroed; then log, evaluate (and generate samples) and checkpoint when due, in that order. A stop request (a
 * signal) ends the loop after its step with a checkpoint, no evaluation and no final model.
 */
final class TrainingLoop {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    /** What the loop ended with. */
    record Outcome(Map<String, Double> lastLog, Map<String, Double> evalMetrics, boolean stopped) {}

    private final OrpoConfig config;
    private final TrainerState state;
    private final PairSource train;
    private final PairSource eval; // nullable
    private final GradientAccumulation gradients;
    private final Evaluation evaluation;
    private final TrainedWeights weights;
    private final Map<String, NDArray> params; // what AdamW updates: float32 (the masters under mixed precision)
    private final AdamW adamw;
    private final TrainingPrecision precision;
    private final CheckpointManager checkpoints;
    private final MetricsWriter metrics;
    private final SampleGeneration samples; // nullable: generateDuringEval off
    private final List<TrainerListener> listeners;
    private final Supplier<String> stopRequest;
    private final Path tokenizerDir;
    private final TrainerControl control = new TrainerControl();
    private final LogWindow window = new LogWindow();
    private Map<String, Double> lastLog = Map.of();
    private Map<String, Double> evalMetrics = Map.of();
    private long lastSaved;
    private long lastEvaluated = -1;

    TrainingLoop(OrpoConfig config, TrainerState state, PairSource train, PairSource eval, GradientAccumulation
            gradients, Evaluation evaluation, TrainedWeights weights, Map<String, NDArray> params, AdamW adamw,
            TrainingPrecision precision,
            CheckpointManager checkpoints, MetricsWriter metrics, SampleGeneration samples,
            List<TrainerListener> listeners, Supplier<String> stopRequest, Path tokenizerDir, long lastSaved) {
        this.config = config;
        this.state = state;
        this.train = train;
        this.eval = eval;
        this.gradients = gradients;
        this.evaluation = evaluation;
        this.weights = weights;
        this.params = params;
        this.adamw = adamw;
        this.precision = precision;
        this.checkpoints = checkpoints;
        this.metrics = metrics;
        this.samples = samples;
        this.listeners = listeners;
        this.stopRequest = stopRequest;
        this.tokenizerDir = tokenizerDir;
        this.lastSaved = lastSaved;
    }

    TrainerControl control() {
        return control;
    }

    /** Steps until maxSteps or a stop; the last step is always logged, evaluated (with eval data) and saved. */
    Outcome run(NDManager root) throws IOException {
        LrSchedule schedule = LrSchedule.of(config, state.maxSteps());
        List<int[]> order = epochOrder(state.epochIndex());
        listeners.forEach(l -> l.onTrainBegin(state, control));
        while (state.globalStep() < state.maxSteps() && !control.shouldStop()) {
            int epochBefore = state.epochIndex();
            step(root, order, schedule.lr(state.schedulerSteps())); // fp16 overflow skips do not advance it
            boolean epochEnded = state.epochIndex() != epochBefore;
            if (epochEnded) {
                order = epochOrder(state.epochIndex());
            }
            listeners.forEach(l -> l.onStep(state, control));
            boolean preempted = stopRequest.get() != null;
            if (preempted && !control.shouldStop()) {
                control.requestStop(stopRequest.get());
            }
            afterStep(root, epochEnded, preempted);
        }
        if (stopRequest.get() != null) {
            LOG.info("stopped at step {} ({}); resume from {}", state.globalStep(), stopRequest.get(),
                    checkpoints.folder(state.globalStep()));
            return new Outcome(lastLog, evalMetrics, true);
        }
        if (eval != null && lastEvaluated != state.globalStep()) {
            evaluate(root);
        }
        if (!"no".equals(config.saveStrategy()) && lastSaved != state.globalStep()) {
            save();
        }
        return new Outcome(lastLog, evalMetrics, false);
    }

    /** One optimizer step: gradients, clip, update (or skip), zero; the step's metrics into the log window. */
    private void step(NDManager root, List<int[]> order, double lr) {
        double lossScale = precision.lossScale();
        Map<String, Double> stepMetrics = gradients.run(order, state, root, precision, weights);
        precision.unscaleAdapterGradients();
        double gradNorm = stepMetrics == null ? Double.NaN
                : Gradients.clipGlobalNorm(params.values(), config.maxGradNorm());
        boolean lossFinite = stepMetrics != null && Double.isFinite(stepMetrics.get("loss"));
        boolean finite = lossFinite && Double.isFinite(gradNorm);
        boolean overflow = precision.overflowed(lossFinite, Double.isFinite(gradNorm));
        if (finite) {
            adamw.step(lr);
            precision.afterUpdate();
        } else if (overflow) {
            LOG.info("step {}: fp16 gradients overflowed at loss scale {}; update skipped, scale now {}",
                    state.globalStep() + 1, lossScale, precision.lossScale());
        } else {
            LOG.warn("step {}: {}; update skipped ({} in a row, limit {})", state.globalStep() + 1,
                    stepMetrics == null ? "non-finite logits" : "loss " + stepMetrics.get("loss") + ", grad_norm "
                            + gradNorm + " (first non-finite gradient: " + Gradients.firstNonFinite(params) + ")",
                    state.nonFiniteInARow() + 1, config.maxNonFiniteSteps());
        }
        Gradients.zero(params.values());
        if (overflow) {
            state.overflowSkipped();
        } else {
            state.stepDone(finite);
        }
        state.rollEpochIfDone();
        if (state.nonFiniteInARow() >= config.maxNonFiniteSteps()) {
            throw new NonFiniteTrainingException(state.nonFiniteInARow() + " steps in a row up to step "
                    + state.globalStep() + " had a NaN/Inf loss or gradient norm (maxNonFiniteSteps "
                    + config.maxNonFiniteSteps() + "); lower learningRate or check the data; the last good"
                    + " checkpoint is in " + checkpoints.outputDir());
        }
        if (finite) {
            stepMetrics.put("learning_rate", lr);
            stepMetrics.put("grad_norm", gradNorm);
            window.add(stepMetrics);
        }
    }

    /** Log, evaluate and checkpoint when due (HF's order); a preempted step is checkpointed and not evaluated. */
    private void afterStep(NDManager root, boolean epochEnded, boolean preempted) throws IOException {
        boolean last = state.globalStep() >= state.maxSteps() || control.shouldStop();
        long done = state.globalStep();
        boolean logDue = done % config.loggingSteps() == 0 || (config.loggingFirstStep() && done == 1) || last;
        if (logDue && !window.isEmpty()) { // a window of skipped steps only has nothing to report
            log();
        }
        if (eval != null && !preempted
                && (due(config.evalStrategy(), config.effectiveEvalSteps(), done, epochEnded) || last)) {
            evaluate(root);
        }
        if (preempted || !"no".equals(config.saveStrategy())
                && (due(config.saveStrategy(), config.saveSteps(), done, epochEnded) || last)) {
            save();
        }
    }

    private void log() throws IOException {
        Map<String, Double> logs = new LinkedHashMap<>();
        logs.put("step", (double) state.globalStep());
        logs.put("epoch", state.epoch());
        logs.putAll(window.means()); // learning_rate applied at, and grad_norm (before clipping) of, the last step
        window.reset();
        logs.put("num_input_tokens_seen", (double) state.numInputTokensSeen());
        logs.put("num_tokens_computed", (double) state.numTokensComputed());
        Map<String, Object> line = new LinkedHashMap<>(logs);
        line.put("step", state.globalStep());
        line.put("num_input_tokens_seen", state.numInputTokensSeen());
        line.put("num_tokens_computed", state.numTokensComputed());
        metrics.write(line);
        state.log(line);
        listeners.forEach(l -> l.onLog(state, logs, control));
        lastLog = logs;
    }

    private void evaluate(NDManager root) throws IOException {
        lastEvaluated = state.globalStep();
        String bad = CheckpointManager.firstNonFinite(params);
        if (bad != null) {
            LOG.warn("step {}: weight {} is not finite; evaluation skipped", state.globalStep(), bad);
            return;
        }
        Map<String, Double> m = evaluation.run(eval, root);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", state.globalStep());
        line.put("epoch", state.epoch());
        line.putAll(m);
        metrics.write(line);
        state.log(line);
        listeners.forEach(l -> l.onEvaluate(state, m, control));
        evalMetrics = m;
        if (samples != null) {
            List<GeneratedSample> generated = samples.run(state.globalStep());
            listeners.forEach(l -> l.onSamples(state, generated, control));
        }
    }

    private void save() throws IOException {
        lastSaved = state.globalStep();
        String bad = CheckpointManager.firstNonFinite(params);
        if (bad != null) {
            LOG.warn("step {}: weight {} is not finite; checkpoint not written", state.globalStep(), bad);
            return;
        }
        Path dir = checkpoints.save(state.globalStep(), params, tmp -> {
            precision.withMasters(() -> TrainingCheckpoint.write(tmp, weights, adamw, state, tokenizerDir));
            precision.write(tmp);
        });
        LOG.info("saved checkpoint {}", dir);
        listeners.forEach(l -> l.onSave(state, dir, control));
    }

    private List<int[]> epochOrder(int epoch) {
        // length grouping reorders a shuffled epoch; shuffle=false keeps file order exactly
        return train.batches(config.perDeviceTrainBatchSize(), epoch, config.seed(), config.shuffle(),
                config.shuffle() && config.groupByLength());
    }

    private static boolean due(String strategy, int every, long step, boolean epochEnded) {
        return switch (strategy) {
            case "steps" -> step % every == 0;
            case "epoch" -> epochEnded;
            default -> false;
        };
    }
}
