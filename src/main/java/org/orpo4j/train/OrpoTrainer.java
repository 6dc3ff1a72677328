package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Single-stage ORPO training with HF Trainer semantics (docs/training.md): per optimizer step, G micro-batches each
 * backpropagate {@code loss / G} (G = gradientAccumulationSteps, fewer at the end of an epoch), the global gradient
 * norm is clipped, AdamW steps at the scheduled rate and the gradients are zeroed ({@link TrainingLoop}). Each
 * micro-batch runs in its own NDManager (a child of the parameters' manager, so on their device) and memory stays
 * flat. Logs, evaluates and checkpoints on the configured intervals; resumes from a checkpoint on the identical
 * trajectory ({@link RunStart}). Training and evaluation run their batches through one path ({@link StepBatch}).
 */
public final class OrpoTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(OrpoTrainer.class);

    private final CausalLm model;
    private final OrpoConfig config;
    private final StepLoss stepLoss;
    private final Evaluation evaluation;
    private final List<TrainerListener> listeners = new ArrayList<>();
    private Path tokenizerDir;
    private DataParallel dataParallel = DataParallel.SINGLE;
    private volatile String stopRequest; // set by requestStop, from any thread

    /**
     * A trainer of {@code model}, which {@code attnImplementation}, when set, switches to that attention (as
     * transformers' {@code from_pretrained(attn_implementation=...)} would have loaded it).
     *
     * @throws IllegalStateException for sdpa where orpo4j's native library is not loaded
     */
    public OrpoTrainer(CausalLm model, OrpoConfig config) {
        AttnImplementation attention = config.get(Settings.ATTN_IMPLEMENTATION);
        if (attention != null) {
            model.attnImplementation(attention);
        }
        this.model = model;
        this.config = config;
        this.stepLoss = new StepLoss(model, config);
        this.evaluation = new Evaluation(model, config, stepLoss);
        listeners.add(new ProgressLogger());
    }

    /** The folder whose tokenizer files are copied into every checkpoint and the final model (nullable). */
    public OrpoTrainer tokenizerDir(Path dir) {
        this.tokenizerDir = dir;
        return this;
    }

    /**
     * Trains as one rank of a data-parallel run ({@code org.orpo4j.distributed.Distributed}): this rank's shard of
     * every global batch of {@code worldSize × perDeviceTrainBatchSize} pairs, gradients averaged over the ranks,
     * rank 0 alone writing (docs/distributed.md). The default is one process.
     */
    public OrpoTrainer dataParallel(DataParallel dataParallel) {
        this.dataParallel = dataParallel;
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
        if (!dataParallel.writes()) { // rank 0 checks the folder and holds its lock
            try {
                return run(train, eval);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
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
        DataParallel ranks = dataParallel;
        PairSource shard = ranks.worldSize() == 1 ? train : new RankShard(train, ranks.rank(), ranks.worldSize());
        TrainerState state = TrainerState.plan(config, shard, ranks.worldSize());
        SampleGeneration.check(config, eval, tokenizerDir);
        RunStart start = openInTurn(out, state, weights);
        if (start.finished()) {
            return TrainResult.finished(state, out);
        }
        if (ranks.writes()) {
            config.write(out.resolve(OrpoConfig.FILE));
        }
        NDArray first = params.values().iterator().next();
        try (NDManager root = first.getManager().newSubManager(); AdamW adamw = AdamW.of(params, config);
                MetricsWriter metrics = start.restore(weights, adamw, state, root);
                SampleGeneration samples = SampleGeneration.open(config, model, eval, tokenizerDir, out,
                        start.resumedStep(state), ranks.writes())) {
            ranks.broadcastFromRankZero(params.values()); // DDP's start: rank 0's weights everywhere
            CheckpointManager checkpoints = new CheckpointManager(out, config.saveTotalLimit());
            LOG.info("training {} steps ({} per epoch, {} micro-batches of {} pairs, accumulation {}) on {} in {}",
                    state.maxSteps(), state.stepsPerEpoch(), state.microBatchesPerEpoch(),
                    config.perDeviceTrainBatchSize(), config.gradientAccumulationSteps(), first.getDevice(),
                    config.precision());
            Gradients.zero(params.values());
            TrainingLoop.Outcome outcome;
            TrainerControl control;
            try (TrainingPrecision precision = TrainingPrecision.start(model, config.precision(),
                    start.checkpoint().orElse(null), params)) {
                GradientAccumulation gradients = new GradientAccumulation(model, config, stepLoss, shard,
                        sharedPromptFor(weights, shard));
                // the checkpoint resumed from is not saved again (a kill while replacing it could lose it)
                TrainingLoop loop = new TrainingLoop(config, state, shard, eval, gradients, evaluation, weights,
                        params, adamw, precision, checkpoints, metrics, samples, listeners, () -> stopRequest,
                        tokenizerDir, start.savedStep(checkpoints, state), ranks);
                control = loop.control();
                outcome = loop.run(root);
            }
            if (!outcome.stopped()) {
                ranks.barrier();
                if (ranks.writes()) {
                    saveFinal(weights, params, out);
                }
                ranks.barrier();
            }
            for (TrainerListener l : listeners) {
                l.onTrainEnd(state, control);
            }
            return new TrainResult(state.globalStep(), outcome.lastLog(), outcome.evalMetrics(), out,
                    control.reason(), false);
        }
    }

    /**
     * {@link RunStart#open} on rank 0 first, which makes a fresh folder ready (or clears it), then on the other
     * ranks, which only read it: every rank then sees the same folder.
     */
    private RunStart openInTurn(Path out, TrainerState state, TrainedWeights weights) throws IOException {
        RunStart start = dataParallel.writes() ? RunStart.open(config, out, state, weights, true) : null;
        dataParallel.barrier();
        return start != null ? start : RunStart.open(config, out, state, weights, false);
    }

    /**
     * Whether this run trains on the shared-prompt layout: as configured, unless LoRA dropout must draw one mask per
     * row (TRL's two rows do), which one shared prompt cannot carry, or the source cannot split its pairs.
     */
    private boolean sharedPromptFor(TrainedWeights weights, PairSource train) {
        if (!config.sharedPrompt()) {
            return false;
        }
        if (weights.drawsAtRandom()) {
            LOG.info("LoRA dropout {} draws independent masks for the chosen and rejected rows, as TRL's two rows do:"
                    + " this run computes two rows per pair (loraDropout 0 keeps the shared prompt)",
                    config.loraDropout());
            return false;
        }
        if (train.sharedPrompt(new int[] {0}).isEmpty()) {
            LOG.info("this PairSource does not split its pairs into prompt and answers (PairSource.sharedPrompt):"
                    + " training on TRL's two padded rows");
            return false;
        }
        return true;
    }

    /** The trained weights (or adapter) into the output folder, refused when not finite. */
    private void saveFinal(TrainedWeights weights, Map<String, NDArray> params, Path out) throws IOException {
        String bad = CheckpointManager.firstNonFinite(params);
        if (bad != null) {
            throw new NonFiniteTrainingException("final weights are not finite (tensor " + bad
                    + "); the model was not saved");
        }
        weights.save(out, tokenizerDir);
        LOG.info("saved the trained {} to {}", LoraModel.of(model).isPresent() ? "LoRA adapter" : "model", out);
    }

    /**
     * What this run trains: the LoRA adapter installed on the model, or a new one when {@link OrpoConfig#usePeft()}
     * asks for it (it then stays on the model), else every weight.
     */
    private TrainedWeights trainedWeights() {
        Optional<LoraModel> lora = LoraModel.of(model);
        if (lora.isEmpty() && config.usePeft()) {
            lora = Optional.of(LoraModel.attach(model, config.loraConfig(model.config()), config.seed()));
            LOG.info("LoRA r={} alpha={} on {} of {}: {} trainable parameters", config.loraR(), config.loraAlpha(),
                    lora.get().config().targetModules(), model.config(),
                    lora.get().parameters().values().stream().mapToLong(NDArray::size).sum());
        }
        if (lora.isEmpty() && model.isQuantized()) {
            throw new IllegalStateException("the model's weights are 4-bit (QLoRA): it trains through a LoRA adapter"
                    + " only, as PEFT; set usePeft (--use-peft) or load an adapter");
        }
        if (model.isQuantized() && !config.gradientCheckpointing()) {
            LOG.warn("gradient checkpointing is off: autograd keeps every layer's dequantized 4-bit weight until"
                    + " backward, as much memory as a float32 base (gradientCheckpointing recomputes them instead)");
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
            return evaluation.run(eval, root);
        }
    }
}
