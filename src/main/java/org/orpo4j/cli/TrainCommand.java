package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.LoadReport;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.train.ChunkedLoss;
import org.orpo4j.train.LrSchedulerType;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.OutputDir;
import org.orpo4j.train.RunLock;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainResult;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code train}: ORPO fine-tuning of a HF model folder on a preference file. Settings come from TRL's defaults,
 * then the {@code --config} JSON, then the flags (a flag given wins). Writes metrics.jsonl, checkpoints and the
 * final HF folder into {@code --output}.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"ORPO fine-tuning: SFT and preference alignment in one stage.",
                "Writes OUTPUT/metrics.jsonl, OUTPUT/checkpoint-<step>/ and the trained HF model folder into OUTPUT.",
                "Flags override --config; unset knobs keep TRL's defaults (docs/configuration.md)."})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    DeviceOption deviceOption;

    @Mixin
    AdapterOption adapterOption;

    @Mixin
    TrainData pairs;

    @Option(names = "--model", paramLabel = "DIR|ORG/NAME",
            description = "HF model folder to start from (with tokenizer), or a hub name[@revision] (docs/hub.md);"
                    + " optional with --adapter (the base its adapter_config.json names).")
    String model;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder.")
    Path output;

    @Option(names = "--skip-bad-rows",
            description = "Skip rows that cannot be used (counted per reason in the log) instead of stopping at the first.")
    boolean skipBadRows;

    @Option(names = "--config", paramLabel = "FILE.json", description = "OrpoConfig JSON (camelCase or TRL snake_case keys).")
    Path configFile;

    @ArgGroup(exclusive = true)
    Duration duration;

    static final class Duration {
        @Option(names = "--max-steps", paramLabel = "N", description = "Optimizer steps to run (maxSteps).")
        Integer maxSteps;

        @Option(names = "--epochs", paramLabel = "E", description = "Epochs, fractional allowed (numTrainEpochs). Default: 3.")
        Double epochs;
    }

    @Option(names = "--batch-size", paramLabel = "B", description = "Pairs per micro-batch (perDeviceTrainBatchSize). Default: 8.")
    Integer batchSize;

    @Option(names = "--grad-accum", paramLabel = "G", description = "Micro-batches per optimizer step (gradientAccumulationSteps). Default: 1.")
    Integer gradAccum;

    @Option(names = "--lr", paramLabel = "X", description = "Peak learning rate (learningRate). Default: 1e-6.")
    Double lr;

    @Option(names = "--beta", paramLabel = "B", description = "Odds-ratio weight, the paper's lambda (beta, guide orpo_beta). Default: 0.1.")
    Double beta;

    @Option(names = "--alpha", paramLabel = "A", description = "Extra odds-ratio multiplier (alpha, guide orpo_alpha). Default: 1.0.")
    Double alpha;

    @ArgGroup(exclusive = true)
    Warmup warmup;

    static final class Warmup {
        @Option(names = "--warmup-steps", paramLabel = "W", description = "Warmup steps (warmupSteps). Default: 0.")
        Integer steps;

        @Option(names = "--warmup-ratio", paramLabel = "R", description = "Warmup as a fraction of all steps (warmupRatio). Default: 0.")
        Double ratio;
    }

    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "linear, cosine, constant or constant_with_warmup (lrSchedulerType). Default: linear.")
    String scheduler;

    @Option(names = "--weight-decay", paramLabel = "D", description = "AdamW decoupled weight decay (weightDecay). Default: 0.")
    Double weightDecay;

    @Option(names = "--max-grad-norm", paramLabel = "C", description = "Global gradient-norm clip, 0 = off (maxGradNorm). Default: 1.0.")
    Double maxGradNorm;

    @Option(names = "--max-length", paramLabel = "L", description = "Longest prompt + answer in tokens (maxLength). Default: 1024.")
    Integer maxLength;

    @Option(names = "--max-prompt-length", paramLabel = "P", description = "Longest prompt after truncation (maxPromptLength). Default: 512.")
    Integer maxPromptLength;

    @Option(names = "--max-completion-length", paramLabel = "C", description = "Cap on each answer (maxCompletionLength). Default: none.")
    Integer maxCompletionLength;

    @Option(names = "--truncation", paramLabel = "MODE", description = "keep_end or keep_start (truncationMode). Default: keep_end.")
    String truncation;

    @Option(names = "--no-prompt-loss", description = "NLL over the answer tokens only (promptLoss=false).")
    boolean noPromptLoss;

    @Option(names = "--no-shuffle", description = "Keep file order (shuffle=false).")
    boolean noShuffle;

    @Option(names = "--no-group-by-length", description = "Do not group similar lengths into a micro-batch (groupByLength=false).")
    boolean noGroupByLength;

    @Option(names = "--chunked-loss", paramLabel = "WHEN", description = "Compute the loss chunk by chunk from the hidden states, never holding the full logits: auto, on or off (chunkedLoss). Default: auto.")
    String chunkedLoss;

    @Option(names = "--bf16", description = "bfloat16 mixed precision with float32 master weights (bf16); needs the orpo4j-built PyTorch JNI, docs/gpu.md.")
    boolean bf16;

    @Option(names = "--fp16", description = "float16 mixed precision with float32 master weights and dynamic loss scaling (fp16).")
    boolean fp16;

    @Option(names = "--gradient-checkpointing", negatable = true,
            description = "Recompute each decoder layer in backward instead of keeping its activations; --no-gradient-checkpointing keeps them (gradientCheckpointing). Default: true.")
    Boolean gradientCheckpointing;

    @Option(names = "--shared-prompt", negatable = true,
            description = "Compute each pair as [prompt | chosen | rejected] in one packed row: the prompt once, no padding; --no-shared-prompt runs TRL's two padded rows (sharedPrompt). Default: true.")
    Boolean sharedPrompt;

    @Option(names = "--use-peft", description = "Train a LoRA adapter on the frozen model (usePeft); the output is PEFT's adapter folder.")
    boolean usePeft;

    @Option(names = "--lora-r", paramLabel = "N", description = "LoRA rank (loraR). Default: 16.")
    Integer loraR;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA alpha; the adapter is scaled by alpha/r (loraAlpha). Default: 32.")
    Double loraAlpha;

    @Option(names = "--lora-dropout", paramLabel = "P", description = "Dropout on the adapter input in training (loraDropout). Default: 0.05.")
    Double loraDropout;

    @Option(names = "--lora-target-modules", paramLabel = "NAMES", split = ",",
            description = "q_proj,v_proj,... (phi3: qkv_proj,gate_up_proj,...) or all-linear (loraTargetModules); "
                    + "without it PEFT's default, q_proj and v_proj (phi3 and smollm3 have none: name them).")
    List<String> loraTargetModules;

    @Option(names = "--use-rslora", description = "Rank-stabilised scaling alpha/sqrt(r) (useRslora).")
    boolean useRslora;

    @Option(names = "--seed", paramLabel = "S", description = "Data-order seed (seed). Default: 42.")
    Long seed;

    @Option(names = "--log-every", paramLabel = "K", description = "Log every K steps (loggingSteps). Default: 10.")
    Integer logEvery;

    @Option(names = "--eval-every", paramLabel = "K", description = "Evaluate every K steps (evalStrategy=steps, evalSteps).")
    Integer evalEvery;

    @Option(names = "--save-every", paramLabel = "K", description = "Checkpoint every K steps (saveSteps). Default: 500.")
    Integer saveEvery;

    @Option(names = "--save-total-limit", paramLabel = "K", description = "Keep the last K checkpoints (saveTotalLimit). Default: all.")
    Integer saveTotalLimit;

    @Option(names = "--overwrite-output-dir",
            description = "Start over in an OUTPUT that holds a run, deleting its checkpoints and metrics (overwriteOutputDir).")
    boolean overwriteOutputDir;

    @Option(names = "--resume", paramLabel = "DIR", arity = "0..1", fallbackValue = "latest",
            description = "Resume from the newest checkpoint in OUTPUT, or from checkpoint folder DIR.")
    String resume;

    @Override
    public Integer call() throws Exception {
        OrpoConfig base = configFile == null ? OrpoConfig.builder().build() : OrpoConfig.read(Inputs.file(configFile));
        if (bf16 && fp16) {
            throw new ParameterException(spec.commandLine(), "--bf16 and --fp16 exclude each other");
        }
        OrpoConfig config = applyFlags(base);
        checkLoraFlags(config);
        if (config.bf16() && !NativeFeatures.bfloat16()) {
            throw new IllegalStateException(NativeFeatures.bfloat16Missing());
        }
        pairs.check();
        // names and file lists first, then downloads, then the adapter against the base's config: nothing heavy
        // runs before every cheap check has passed, and no file is touched before the output is known to be safe
        ModelInputs inputs = ModelInputs.resolve(model, adapterOption.adapter);
        TrainData.PlannedFiles files = pairs.plan();
        Map<String, Path> read = new LinkedHashMap<>(inputs.folders());
        read.putAll(files.byFlag());
        OutputDir.refuseInputs(output, "--output", read);
        Optional<LoraConfig> adapter = inputs.prepare();
        files.fetch();
        if (adapter.isPresent()) {
            config = withAdapterSettings(config, adapter.get());
        }
        TrainResult result;
        // signals first: from the moment the lock file exists, Ctrl-C is answered in one line
        try (Preemption preemption = new Preemption(output, System.err).install();
                RunLock lock = RunLock.acquire(output)) {
            if (OutputDir.resumeFolder(output, config.resumeFromCheckpoint()).isEmpty()) {
                OutputDir.prepareFresh(output, config.overwriteOutputDir()); // before orpo_config.json lands there
            }
            result = train(config, inputs, files, preemption);
            if (preemption.exitCode() != 0) {
                System.err.println(preemption.stoppedLine(result.globalStep()));
                System.err.flush();
                return preemption.exitCode();
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (result.alreadyFinished()) {
            out.printf(Locale.ROOT, "the run in %s is already finished (step %d); nothing was written%n",
                    result.modelDir(), result.globalStep());
        } else {
            out.printf(Locale.ROOT, "trained %d steps%s; model saved to %s%n", result.globalStep(),
                    result.stopReason() == null ? "" : " (stopped: " + result.stopReason() + ")", result.modelDir());
        }
        printMetrics(out, "train", result.lastLog(), "");
        printMetrics(out, "eval", result.evalMetrics(), "eval_");
        out.flush();
        return 0;
    }

    /** Loads the model and the data, and trains, the first SIGTERM or SIGINT stopping after its step. */
    private TrainResult train(OrpoConfig config, ModelInputs inputs, TrainData.PlannedFiles files,
            Preemption preemption) throws Exception {
        Path tokenizerDir = inputs.tokenizerDir();
        try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir);
                NDManager manager = DjlRuntime.newManager(deviceOption.resolve());
                CausalLm lm = inputs.load(manager)) {
            DataOptions options = TrainData.dataOptions(config, skipBadRows);
            Map<Path, LoadReport> reports = new LinkedHashMap<>();
            PreferenceDataset train = TrainData.load(files.train(), tokenizer, options, reports);
            PreferenceDataset evalSet = files.eval().isEmpty() ? null
                    : TrainData.load(files.eval(), tokenizer, options, reports);
            PairSource eval = evalSet == null ? null : PairSource.of(evalSet);
            OrpoTrainer trainer = new OrpoTrainer(lm, config).tokenizerDir(tokenizerDir).addListener(preemption)
                    .addListener(SkippedRowsFile.listener(output, reports));
            preemption.watch(trainer);
            return trainer.train(PairSource.of(train), eval);
        }
    }

    /** The config file's (or the default) settings with every given flag applied; invalid values are bad usage. */
    OrpoConfig applyFlags(OrpoConfig base) {
        OrpoConfig.Builder b = base.toBuilder().outputDir(output);
        if (duration != null && duration.maxSteps != null) {
            b.maxSteps(duration.maxSteps);
        }
        if (duration != null && duration.epochs != null) {
            b.numTrainEpochs(duration.epochs).maxSteps(-1);
        }
        if (batchSize != null) {
            b.perDeviceTrainBatchSize(batchSize).perDeviceEvalBatchSize(batchSize);
        }
        if (gradAccum != null) {
            b.gradientAccumulationSteps(gradAccum);
        }
        if (lr != null) {
            b.learningRate(lr);
        }
        if (beta != null) {
            b.beta(beta);
        }
        if (alpha != null) {
            b.alpha(alpha);
        }
        if (warmup != null && warmup.steps != null) {
            b.warmupSteps(warmup.steps).warmupRatio(0);
        }
        if (warmup != null && warmup.ratio != null) {
            b.warmupRatio(warmup.ratio).warmupSteps(0);
        }
        if (weightDecay != null) {
            b.weightDecay(weightDecay);
        }
        if (maxGradNorm != null) {
            b.maxGradNorm(maxGradNorm);
        }
        if (maxLength != null) {
            b.maxLength(maxLength);
        }
        if (maxPromptLength != null) {
            b.maxPromptLength(maxPromptLength);
        }
        if (maxCompletionLength != null) {
            b.maxCompletionLength(maxCompletionLength);
        }
        if (truncation != null) {
            b.truncationMode(truncation);
        }
        if (noPromptLoss) {
            b.promptLoss(false);
        }
        if (noShuffle) {
            b.shuffle(false);
        }
        if (noGroupByLength) {
            b.groupByLength(false);
        }
        if (chunkedLoss != null) {
            b.chunkedLoss(ChunkedLoss.parse(chunkedLoss));
        }
        if (gradientCheckpointing != null) {
            b.gradientCheckpointing(gradientCheckpointing);
        }
        if (sharedPrompt != null) {
            b.sharedPrompt(sharedPrompt);
        }
        if (usePeft || adapterOption.adapter != null) {
            b.usePeft(true); // --adapter trains that adapter: its r, alpha and targets win
        }
        if (loraR != null) {
            b.loraR(loraR);
        }
        if (loraAlpha != null) {
            b.loraAlpha(loraAlpha);
        }
        if (loraDropout != null) {
            b.loraDropout(loraDropout);
        }
        if (loraTargetModules != null) {
            b.loraTargetModules(loraTargetModules);
        }
        if (useRslora) {
            b.useRslora(true);
        }
        if (bf16) {
            b.bf16(true).fp16(false);
        }
        if (fp16) {
            b.fp16(true).bf16(false);
        }
        if (seed != null) {
            b.seed(seed);
        }
        if (logEvery != null) {
            b.loggingSteps(logEvery);
        }
        if (evalEvery != null) {
            b.evalStrategy("steps").evalSteps(evalEvery);
        }
        if (saveEvery != null) {
            b.saveStrategy("steps").saveSteps(saveEvery);
        }
        if (saveTotalLimit != null) {
            b.saveTotalLimit(saveTotalLimit);
        }
        if (resume != null) {
            b.resumeFromCheckpoint(resume);
        }
        if (overwriteOutputDir) {
            b.overwriteOutputDir(true);
        }
        try {
            if (scheduler != null) {
                b.lrSchedulerType(LrSchedulerType.parse(scheduler));
            }
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * LoRA flags only mean something for a new adapter: without --use-peft (or usePeft in --config) they would be
     * ignored, and beside --adapter the adapter's own adapter_config.json decides them; both are bad usage.
     */
    private void checkLoraFlags(OrpoConfig config) {
        List<String> given = new ArrayList<>();
        if (loraR != null) {
            given.add("--lora-r");
        }
        if (loraAlpha != null) {
            given.add("--lora-alpha");
        }
        if (loraDropout != null) {
            given.add("--lora-dropout");
        }
        if (loraTargetModules != null) {
            given.add("--lora-target-modules");
        }
        if (useRslora) {
            given.add("--use-rslora");
        }
        if (given.isEmpty()) {
            return;
        }
        if (adapterOption.adapter != null) {
            throw new ParameterException(spec.commandLine(), String.join(", ", given) + " cannot change the adapter"
                    + " --adapter " + adapterOption.adapter + " trains: its adapter_config.json sets them");
        }
        if (!usePeft && !config.usePeft()) {
            throw new ParameterException(spec.commandLine(), String.join(", ", given) + " only apply to a LoRA"
                    + " run: add --use-peft");
        }
    }

    /** The settings with the loaded adapter's LoRA values, so orpo_config.json records what the run trains. */
    private static OrpoConfig withAdapterSettings(OrpoConfig config, LoraConfig adapter) {
        return config.toBuilder().usePeft(true).loraR(adapter.r()).loraAlpha(adapter.alpha())
                .loraDropout(adapter.dropout()).loraTargetModules(adapter.targetModules())
                .useRslora(adapter.useRslora()).build();
    }

    /** The headline metrics of the last log or evaluation, e.g. {@code train: loss=0.3172 rewards/accuracies=1.000}. */
    private static void printMetrics(PrintWriter out, String label, Map<String, Double> metrics, String prefix) {
        if (metrics.isEmpty()) {
            return;
        }
        StringBuilder line = new StringBuilder(label).append(':');
        for (String name : new String[] {"loss", "nll_loss", "rewards/accuracies", "rewards/margins"}) {
            Double v = metrics.get(prefix + name);
            if (v != null) {
                line.append(String.format(Locale.ROOT, " %s%s=%.4f", prefix, name, v));
            }
        }
        out.println(line);
    }
}
