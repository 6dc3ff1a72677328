package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntConsumer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.loss.NonFiniteLogitsException;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.loss.OrpoMetrics;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.TrainingForward;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.safetensors.SaveOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single-stage ORPO loop, written plainly (nanoGPT style) with HF Trainer semantics (reference section 5):
 * per optimizer step, G micro-batches each backpropagate {@code loss / G} (G = gradientAccumulationSteps, fewer at
 * the end of an epoch), the global gradient norm is clipped, AdamW steps at the scheduled rate and the gradients
 * are zeroed. Each micro-batch runs in its own NDManager (a child of the parameters' manager, so on their device)
 * and memory stays flat. Logs, evaluates and checkpoints on the configured intervals; resumes from a checkpoint on
 * the identical trajectory.
 */
public final class OrpoTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(OrpoTrainer.class);

    private final CausalLm model;
    private final OrpoConfig config;
    private final StepLoss stepLoss;
    private final List<TrainerListener> listeners = new ArrayList<>();
    private Path tokenizerDir;
    private volatile String stopRequest; // set by requestStop, from any thread

    public OrpoTrainer(CausalLm model, OrpoConfig config) {
        this.model = model;
        this.config = config;
        this.stepLoss = new StepLoss(model, config);
        listeners.add(new ProgressLogger());
    }

    /** The folder whose tokenizer files are copied into every checkpoint and the final model (nullable). */
    public OrpoTrainer tokenizerDir(Path dir) {
        this.tokenizerDir = dir;
        return this;
    }

    public OrpoTrainer addListener(TrainerListener listener) {
        listeners.add(listener);
        return this;
    }

    public OrpoConfig config() {
        return config;
    }

    /**
     * Asks a running {@link #train} to stop after the optimizer step in flight (never inside a step's gradient
     * accumulation): it then writes a checkpoint whatever {@code saveStrategy} says, skips evaluation and the final
     * model, and returns with {@code reason} as its stop reason. Safe from any thread, a signal handler included.
     */
    public void requestStop(String reason) {
        stopRequest = reason;
    }

    /** {@link #train(PairSource, PairSource)} on tokenized preference datasets ({@code eval} nullable). */
    public TrainResult train(PreferenceDataset train, PreferenceDataset eval) {
        return train(PairSource.of(train), eval == null ? null : PairSource.of(eval));
    }

    /**
     * Trains on {@code train}, evaluating on {@code eval} (nullable) as configured and at the end; resumes when
     * {@link OrpoConfig#resumeFromCheckpoint()} says so. Writes metrics.jsonl, checkpoints and the final HF model
     * folder into {@link OrpoConfig#outputDir()}.
     */
    public TrainResult train(PairSource train, PairSource eval) {
        stopRequest = null;
        Map<String, Path> inputs = new LinkedHashMap<>();
        inputs.put("the model's folder", model.source().orElse(null));
        inputs.put("tokenizerDir", tokenizerDir);
        try {
            OutputDir.refuseInputs(Path.of(config.outputDir()), "outputDir", inputs); // before the lock file
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (RunLock lock = RunLock.acquire(Path.of(config.outputDir()))) {
            return run(train, eval);
        } catch (IOException e) {
            throw new UncheckedIOException("training failed writing to " + config.outputDir() + ": "
                    + e.getMessage(), e);
        }
    }

    private TrainResult run(PairSource train, PairSource eval) throws IOException {
        Path out = Path.of(config.outputDir());
        TrainedWeights weights = trainedWeights();
        Map<String, NDArray> params = weights.parameters();
        NDArray first = params.values().iterator().next();
        int batchSize = config.perDeviceTrainBatchSize();
        int microPerEpoch = train.batches(batchSize, 0, config.seed(), config.shuffle(), config.groupByLength()).size();
        if (microPerEpoch == 0) {
            throw new IllegalArgumentException("the training data is empty");
        }
        int stepsPerEpoch = Math.floorDiv(microPerEpoch + config.gradientAccumulationSteps() - 1,
                config.gradientAccumulationSteps());
        long maxSteps = config.maxSteps() > 0 ? config.maxSteps()
                : (long) Math.ceil(config.numTrainEpochs() * stepsPerEpoch);
        TrainerState state = new TrainerState(config, maxSteps, microPerEpoch);
        state.dataFingerprint(train.fingerprint().orElse(null));
        LrSchedule schedule = LrSchedule.of(config, maxSteps);
        TrainerControl control = new TrainerControl();
        Map<String, Double> lastLog = Map.of();
        Map<String, Double> evalMetrics = Map.of();

        Optional<Path> resume = OutputDir.resumeFolder(out, config.resumeFromCheckpoint());
        TrainerState saved = null;
        if (resume.isEmpty()) {
            if (config.resumeFromCheckpoint() != null) {
                LOG.info("no checkpoint in {} to resume from; starting fresh", out);
            }
            OutputDir.prepareFresh(out, config.overwriteOutputDir());
        } else {
            saved = TrainingCheckpoint.readState(resume.get());
            state.restoreFrom(saved); // checks the data fits before the model is touched
            if (state.globalStep() >= maxSteps && weights.savedIn(out)) {
                LOG.info("the run in {} is already finished (step {} of {}); nothing to do", out,
                        state.globalStep(), maxSteps);
                return TrainResult.finished(state, out);
            }
        }
        config.write(out.resolve(OrpoConfig.FILE));
        try (NDManager root = first.getManager().newSubManager(); AdamW adamw = AdamW.of(params, config)) {
            CheckpointManager checkpoints = new CheckpointManager(out, config.saveTotalLimit());
            MetricsWriter metrics;
            if (saved != null) {
                warnOnChangedKnobs(saved.config());
                TrainingCheckpoint.restore(resume.get(), weights, adamw, saved.optimizerSteps(), root);
                metrics = MetricsWriter.resume(out.resolve(MetricsWriter.FILE), state.globalStep());
                LOG.info("resumed from {} at step {} (epoch {}, micro-batch {})", resume.get(), state.globalStep(),
                        state.epochIndex(), state.microBatchInEpoch());
            } else {
                metrics = MetricsWriter.create(out.resolve(MetricsWriter.FILE));
            }
            LOG.info("training {} steps ({} per epoch, {} micro-batches of {} pairs, accumulation {}) on {} in {}",
                    maxSteps, state.stepsPerEpoch(), microPerEpoch, batchSize, config.gradientAccumulationSteps(),
                    first.getDevice(), config.precision());
            Gradients.zero(params.values());
            try (metrics; TrainingPrecision precision =
                    TrainingPrecision.start(model, config.precision(), resume.orElse(null), params)) {
                List<int[]> order = epochOrder(train, state.epochIndex());
                LogWindow window = new LogWindow();
                // the checkpoint resumed from is not saved again (a kill while replacing it could lose it)
                long lastSaved = resume.map(r -> r.toAbsolutePath().normalize())
                        .filter(r -> r.equals(checkpoints.folder(state.globalStep()).toAbsolutePath().normalize()))
                        .isPresent() ? state.globalStep() : -1;
                long lastEvaluated = -1;
                boolean sharedPrompt = config.sharedPrompt() && !weights.drawsAtRandom();
                if (config.sharedPrompt() && !sharedPrompt) {
                    LOG.info("LoRA dropout {} draws independent masks for the chosen and rejected rows, as TRL's two"
                            + " rows do: this run computes two rows per pair (loraDropout 0 keeps the shared prompt)",
                            config.loraDropout());
                }
                listeners.forEach(l -> l.onTrainBegin(state, control));
                while (state.globalStep() < maxSteps && !control.shouldStop()) {
                    long step = state.globalStep();
                    double lr = schedule.lr(state.schedulerSteps()); // fp16 overflow skips do not advance it
                    int epochBefore = state.epochIndex();
                    double lossScale = precision.lossScale();
                    Map<String, Double> stepMetrics = trainStep(train, order, state, root, precision, weights,
                            sharedPrompt);
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
                                step + 1, lossScale, precision.lossScale());
                    } else {
                        LOG.warn("step {}: {}; update skipped ({} in a row, limit {})", step + 1,
                                stepMetrics == null ? "non-finite logits" : "loss " + stepMetrics.get("loss")
                                        + ", grad_norm " + gradNorm + " (first non-finite gradient: "
                                        + Gradients.firstNonFinite(params) + ")",
                                state.nonFiniteInARow() + 1, config.maxNonFiniteSteps());
                    }
                    Gradients.zero(params.values());
                    if (overflow) {
                        state.overflowSkipped();
                    } else {
                        state.stepDone(finite);
                    }
                    state.rollEpochIfDone();
                    boolean epochEnded = state.epochIndex() != epochBefore;
                    if (epochEnded) {
                        order = epochOrder(train, state.epochIndex());
                    }
                    if (state.nonFiniteInARow() >= config.maxNonFiniteSteps()) {
                        throw new NonFiniteTrainingException(state.nonFiniteInARow() + " steps in a row up to step "
                                + state.globalStep() + " had a NaN/Inf loss or gradient norm (maxNonFiniteSteps "
                                + config.maxNonFiniteSteps() + "); lower learningRate or check the data; the last"
                                + " good checkpoint is in " + out);
                    }
                    if (finite) {
                        stepMetrics.put("learning_rate", lr);
                        stepMetrics.put("grad_norm", gradNorm);
                        window.add(stepMetrics);
                    }
                    listeners.forEach(l -> l.onStep(state, control));
                    boolean preempted = stopRequest != null;
                    if (preempted && !control.shouldStop()) {
                        control.requestStop(stopRequest);
                    }
                    boolean last = state.globalStep() >= maxSteps || control.shouldStop();
                    long done = state.globalStep();
                    boolean logDue = done % config.loggingSteps() == 0 || (config.loggingFirstStep() && done == 1)
                            || last;
                    if (logDue && !window.isEmpty()) { // a window of skipped steps only has nothing to report
                        lastLog = log(metrics, state, window, control);
                    }
                    if (eval != null && !preempted
                            && (due(config.evalStrategy(), config.effectiveEvalSteps(), done, epochEnded) || last)) {
                        evalMetrics = evaluateAndLog(eval, metrics, state, root, control);
                        lastEvaluated = done;
                    }
                    if (preempted || !"no".equals(config.saveStrategy())
                            && (due(config.saveStrategy(), config.saveSteps(), done, epochEnded) || last)) {
                        save(checkpoints, weights, adamw, state, control, precision);
                        lastSaved = done;
                    }
                }
                if (stopRequest != null) {
                    LOG.info("stopped at step {} ({}); resume from {}", state.globalStep(), stopRequest,
                            checkpoints.folder(state.globalStep()));
                    return new TrainResult(state.globalStep(), lastLog, evalMetrics, out, control.reason(), false);
                }
                if (eval != null && lastEvaluated != state.globalStep()) {
                    evalMetrics = evaluateAndLog(eval, metrics, state, root, control);
                }
                if (!"no".equals(config.saveStrategy()) && lastSaved != state.globalStep()) {
                    save(checkpoints, weights, adamw, state, control, precision);
                }
            }
            String bad = CheckpointManager.firstNonFinite(params);
            if (bad != null) {
                throw new NonFiniteTrainingException("final weights are not finite (tensor " + bad
                        + "); the model was not saved");
            }
            weights.save(out, tokenizerDir);
            LOG.info("saved the trained {} to {}", LoraModel.of(model).isPresent() ? "LoRA adapter" : "model", out);
        }
        return new TrainResult(state.globalStep(), lastLog, evalMetrics, out, control.reason(), false);
    }

    /**
     * One optimizer step's forward/backward passes: up to G micro-batches (fewer when the epoch ends), each
     * backpropagating {@code loss / g}. Returns the mean of the micro-batch metrics (TRL names), or null when a
     * micro-batch's logits are not finite: the step's remaining micro-batches are then consumed unseen, so the data
     * position stays that of a normal step, and the update is skipped.
     */
    private Map<String, Double> trainStep(PairSource train, List<int[]> order, TrainerState state, NDManager root,
            TrainingPrecision precision, TrainedWeights weights, boolean sharedPrompt) {
        int g = Math.min(config.gradientAccumulationSteps(), state.microBatchesPerEpoch() - state.microBatchInEpoch());
        double lossScale = precision.lossScale();
        List<OrpoMetrics> micro = new ArrayList<>(g);
        boolean finite = true;
        for (int i = 0; i < g; i++) {
            try (NDManager mb = root.newSubManager()) {
                int[] rows = order.get(state.microBatchInEpoch());
                Optional<SharedPromptLayout> layout = sharedPrompt ? train.sharedPrompt(rows) : Optional.empty();
                MicroBatch batch = layout.isPresent() ? null : train.collate(rows, mb);
                if (finite) {
                    // a number unique to this micro-batch's place in the run: dropout masks survive a resume
                    IntConsumer layerSeeds = weights.layerSeeds(config.seed() * 1_000_003L
                            + (long) state.epochIndex() * state.microBatchesPerEpoch() + state.microBatchInEpoch());
                    try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                        TrainingForward forward;
                        OrpoLoss.Output o;
                        if (layout.isPresent()) {
                            NDArray ids = mb.create(layout.get().ids(), new Shape(1, layout.get().length()));
                            forward = model.trainingForward(ids, layout.get(), config.gradientCheckpointing(),
                                    layerSeeds);
                            o = stepLoss.sharedPrompt(forward.hidden(), layout.get(), lossScale / g);
                        } else {
                            forward = model.trainingForward(batch.inputIds(), batch.attentionMask(),
                                    config.gradientCheckpointing(), layerSeeds);
                            o = stepLoss.twoRow(forward.hidden(), batch, lossScale / g);
                        }
                        collector.backward(o.loss());
                        forward.backward(); // the checkpointed layers' share
                        precision.microBatchToMasters(); // summed in float32, as HF accumulates
                        micro.add(o.metrics());
                    } catch (NonFiniteLogitsException e) {
                        LOG.debug("non-finite logits: {}", e.getMessage());
                        finite = false;
                    }
                }
                if (layout.isPresent()) {
                    state.microBatchConsumed(layout.get().twoRowRealTokens(), layout.get().length());
                } else {
                    state.microBatchConsumed(batch.tokens(), batch.inputIds().size());
                }
            }
        }
        return finite ? new LinkedHashMap<>(OrpoMetrics.mean(micro).toMap("")) : null;
    }

    /**
     * What this run trains: the LoRA adapter installed on the model, or a new one when {@link OrpoConfig#usePeft()}
     * asks for it (it then stays on the model), else every weight.
     */
    private TrainedWeights trainedWeights() {
        Optional<LoraModel> lora = LoraModel.of(model);
        if (lora.isEmpty() && config.usePeft()) {
            lora = Optional.of(LoraModel.attach(model, config.loraConfig(model.config().modelType()), config.seed()));
            LOG.info("LoRA r={} alpha={} on {} of {}: {} trainable parameters", config.loraR(), config.loraAlpha(),
                    lora.get().config().targetModules(), model.config(),
                    lora.get().parameters().values().stream().mapToLong(NDArray::size).sum());
        }
        lora.ifPresent(l -> l.train(true));
        return lora.map(TrainedWeights::adapter).orElseGet(() -> TrainedWeights.fullModel(model));
    }

    /** The {@code eval_} metrics over {@code eval} in file order, without gradients. */
    public Map<String, Double> evaluate(PreferenceDataset eval) {
        return evaluate(PairSource.of(eval));
    }

    /** The {@code eval_} metrics over {@code eval} in file order, without gradients. */
    public Map<String, Double> evaluate(PairSource eval) {
        Map<String, NDArray> params = model.parameters();
        try (NDManager root = params.values().iterator().next().getManager().newSubManager()) {
            return evaluate(eval, root);
        }
    }

    private Map<String, Double> evaluate(PairSource eval, NDManager root) {
        List<OrpoMetrics> batches = new ArrayList<>();
        double weightedLoss = 0;
        long pairs = 0;
        Optional<LoraModel> lora = LoraModel.of(model);
        boolean training = lora.map(LoraModel::training).orElse(false);
        lora.ifPresent(l -> l.train(false)); // no dropout while evaluating
        try (GradMode noGrad = GradMode.enabled(false)) {
            for (int[] rows : eval.batches(config.perDeviceEvalBatchSize(), 0, config.seed(), false, false)) {
                try (NDManager m = root.newSubManager()) {
                    MicroBatch batch = eval.collate(rows, m);
                    NDArray hidden = model.hiddenStates(batch.inputIds(), batch.attentionMask());
                    OrpoMetrics metrics = stepLoss.twoRow(hidden, batch, 1.0).metrics();
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
        // HF's evaluation loop repeats each batch's loss once per pair; TRL's other eval_ metrics are batch means
        Map<String, Double> metrics = new LinkedHashMap<>(OrpoMetrics.mean(batches).toMap("eval_"));
        metrics.put("eval_loss", weightedLoss / pairs);
        return metrics;
    }

    private Map<String, Double> evaluateAndLog(PairSource eval, MetricsWriter metrics, TrainerState state,
            NDManager root, TrainerControl control) throws IOException {
        String bad = CheckpointManager.firstNonFinite(model.parameters());
        if (bad != null) {
            LOG.warn("step {}: weight {} is not finite; evaluation skipped", state.globalStep(), bad);
            return Map.of();
        }
        Map<String, Double> m = evaluate(eval, root);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", state.globalStep());
        line.put("epoch", state.epoch());
        line.putAll(m);
        metrics.write(line);
        state.log(line);
        listeners.forEach(l -> l.onEvaluate(state, m, control));
        return m;
    }

    private Map<String, Double> log(MetricsWriter metrics, TrainerState state, LogWindow window,
            TrainerControl control) throws IOException {
        Map<String, Double> logs = new LinkedHashMap<>();
        logs.put("step", (double) state.globalStep());
        logs.put("epoch", state.epoch());
        logs.putAll(window.means()); // learning_rate applied at, and grad_norm (before clipping) of, the last step
        window.reset();
        Map<String, Object> line = new LinkedHashMap<>(logs);
        line.put("step", state.globalStep());
        line.put("num_input_tokens_seen", state.numInputTokensSeen());
        line.put("num_tokens_computed", state.numTokensComputed());
        metrics.write(line);
        state.log(line);
        listeners.forEach(l -> l.onLog(state, logs, control));
        return logs;
    }

    private void save(CheckpointManager checkpoints, TrainedWeights weights, AdamW adamw, TrainerState state,
            TrainerControl control, TrainingPrecision precision) throws IOException {
        Map<String, NDArray> params = weights.parameters();
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

    private List<int[]> epochOrder(PairSource train, int epoch) {
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

    /** Resuming with different trajectory knobs is allowed (e.g. more steps) but worth a warning. */
    private void warnOnChangedKnobs(OrpoConfig saved) {
        List<String> changed = new ArrayList<>();
        saved.toJson().fields().forEachRemaining(e -> {
            if (!List.of("resumeFromCheckpoint", "outputDir", "overwriteOutputDir").contains(e.getKey())
                    && !e.getValue().equals(config.toJson().get(e.getKey()))) {
                changed.add(e.getKey() + " " + e.getValue() + " -> " + config.toJson().get(e.getKey()));
            }
        });
        if (!changed.isEmpty()) {
            LOG.warn("resuming with changed settings (the trajectory will differ from the original run): {}",
                    changed);
        }
    }
}
