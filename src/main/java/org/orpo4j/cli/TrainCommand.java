package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.LoadReport;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.distributed.Distributed;
import org.orpo4j.distributed.Launcher;
import org.orpo4j.hub.HubPush;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.tracking.Trackers;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.OutputDir;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.RunLock;
import org.orpo4j.train.Settings;
import org.orpo4j.train.TrainResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code train}: ORPO fine-tuning of a HF model folder on a preference file. Settings come from TRL's defaults,
 * then the {@code --config} JSON, then the flags (a flag given wins). Writes metrics.jsonl, checkpoints and the
 * final HF folder into {@code --output}.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        modelTransformer = TrainCommand.TableOptions.class, description = {"ORPO fine-tuning: SFT and preference alignment in one stage.",
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

    @Mixin
    LaunchOptions launch;

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

    /** The settings' own flags ({@code --lr}, {@code --beta}, ...), made from the settings table. */
    static final class TableOptions implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            return SettingOptions.train().addTo(spec);
        }
    }

    @Override
    public Integer call() throws Exception {
        OrpoConfig base = configFile == null ? OrpoConfig.builder().build() : OrpoConfig.read(Inputs.file(configFile));
        ParseResult parsed = spec.commandLine().getParseResult();
        checkFourBitNeedsAdapter(base, parsed);
        OrpoConfig.Builder builder = base.toBuilder().outputDir(output);
        if (adapterOption.adapter != null) {
            builder.usePeft(true); // the adapter is what trains (and what a 4-bit base needs)
        }
        OrpoConfig config = SettingOptions.train().apply(parsed, builder, spec.commandLine());
        checkLoraFlags(config, parsed);
        FourBitOptions.checkUsedWith4bit(parsed, spec.commandLine(), config.get(Settings.LOAD_IN_4BIT));
        Trackers trackers;
        try {
            trackers = Trackers.open(config, System.getenv()); // an MLflow address missing is bad usage, said now
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--report-to " + String.join(",",
                    config.get(Settings.REPORT_TO)) + ": " + e.getMessage());
        }
        Launcher launcher = launch.launcher();
        if (config.bf16() && !NativeFeatures.bfloat16()) {
            throw new IllegalStateException(NativeFeatures.bfloat16Missing());
        }
        pairs.check();
        if (config.get(Settings.GENERATE_DURING_EVAL) && !pairs.hasEval()) {
            throw new ParameterException(spec.commandLine(), "--generate-during-eval needs held-out prompts:"
                    + " --eval-data FILE or --eval-split SPLIT");
        }
        HubPush pusher = config.get(Settings.PUSH_TO_HUB) ? HubPush.fromEnvironment(System.getenv()) : null;
        if (pusher != null && !pusher.hasToken()) {
            throw new ParameterException(spec.commandLine(), "--push-to-hub needs a hub token: set HF_TOKEN (or log"
                    + " in with `huggingface-cli login`)");
        }
        if (launcher != null) { // the workers do everything else; nothing is written here
            trackers.close();
            launcher.checkPort();
            return launcher.run(LaunchOptions.workerCommand(parsed.originalArgs()), System.err);
        }
        String backend = config.get(Settings.DDP_BACKEND); // auto means gloo for a run on the CPU
        if (backend.equals("auto") && !deviceOption.resolve().isGpu()) {
            backend = "gloo";
        }
        try (Trackers closing = trackers; Distributed ranks = Distributed.fromEnvironment(backend,
                Duration.ofSeconds(config.get(Settings.DDP_TIMEOUT))).orElse(null)) {
            boolean writes = ranks == null || ranks.writes();
            return train(config, writes ? trackers : null, writes ? pusher : null, ranks);
        }
    }

    /**
     * This process's run: alone, or as one rank (whose rank 0 alone touches the output folder, reports to the
     * trackers and pushes: the others get null for both).
     */
    private int train(OrpoConfig config, Trackers trackers, HubPush pusher, Distributed ranks) throws Exception {
        boolean writes = ranks == null || ranks.writes();
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
                RunLock lock = writes ? RunLock.acquire(output) : null) {
            if (writes && OutputDir.resumeFolder(output, config.resumeFromCheckpoint()).isEmpty()) {
                OutputDir.prepareFresh(output, config.overwriteOutputDir()); // before orpo_config.json lands there
            }
            result = train(config, inputs, files, preemption, trackers, ranks);
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
        if (pusher != null) {
            push(pusher, config, inputs, result.modelDir(), out);
        }
        return 0;
    }

    /** Uploads the trained folder as TRL's push_to_hub does, with a model card naming the base and the data. */
    private void push(HubPush pusher, OrpoConfig config, ModelInputs inputs, Path modelDir, PrintWriter out)
            throws IOException {
        String repo = config.get(Settings.HUB_MODEL_ID) != null ? config.get(Settings.HUB_MODEL_ID)
                : output.toAbsolutePath().normalize().getFileName().toString();
        List<String> datasets = pairs.dataset != null ? List.of(pairs.dataset)
                : pairs.data != null ? List.of(pairs.data.getFileName().toString()) : List.of();
        HubPush.Result r = pusher.push(modelDir, repo, new HubPush.Options(false, "main", "End of training",
                inputs.baseName(), datasets, true));
        out.println(r.commit() == null ? "pushed nothing: " + r.repo() + " has these files already"
                : "pushed " + modelDir + " to " + r.repo() + " (commit " + r.commit() + ")");
        out.flush();
    }

    /** Loads the model and the data, and trains, the first SIGTERM or SIGINT stopping after its step. */
    private TrainResult train(OrpoConfig config, ModelInputs inputs, TrainData.PlannedFiles files,
            Preemption preemption, Trackers trackers, Distributed ranks) throws Exception {
        Path tokenizerDir = inputs.tokenizerDir();
        try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir);
                NDManager manager = DjlRuntime.newManager(ranks != null && ranks.device().isGpu() ? ranks.device()
                        : deviceOption.resolve()); // an NCCL rank trains on cuda:LOCAL_RANK, as under torchrun
                CausalLm lm = inputs.load(manager, FourBitOptions.of(config))) {
            DataOptions options = TrainData.dataOptions(config, skipBadRows);
            Map<Path, LoadReport> reports = new LinkedHashMap<>();
            PreferenceDataset train = TrainData.load(files.train(), tokenizer, options, reports);
            PreferenceDataset evalSet = files.eval().isEmpty() ? null
                    : TrainData.load(files.eval(), tokenizer, options, reports);
            PairSource eval = evalSet == null ? null : PairSource.of(evalSet);
            OrpoTrainer trainer = new OrpoTrainer(lm, config).tokenizerDir(tokenizerDir).addListener(preemption);
            if (trackers != null) { // the process that writes: alone, or rank 0
                trainer.addListener(SkippedRowsFile.listener(output, reports));
                trackers.listeners().forEach(trainer::addListener);
            }
            if (ranks != null) {
                trainer.dataParallel(ranks);
            }
            preemption.watch(trainer);
            return trainer.train(PairSource.of(train), eval);
        }
    }

    /**
     * LoRA flags only mean something for a new adapter: without --use-peft (or usePeft in --config) they would be
     * ignored, and beside --adapter the adapter's own adapter_config.json decides them; both are bad usage.
     */
    private void checkLoraFlags(OrpoConfig config, ParseResult parsed) {
        List<String> given = Stream.of(Settings.LORA_R, Settings.LORA_ALPHA, Settings.LORA_DROPOUT,
                Settings.LORA_TARGET_MODULES, Settings.USE_RSLORA).map(s -> s.flag().name())
                .filter(parsed::hasMatchedOption).toList();
        if (given.isEmpty()) {
            return;
        }
        if (adapterOption.adapter != null) {
            throw new ParameterException(spec.commandLine(), String.join(", ", given) + " cannot change the adapter"
                    + " --adapter " + adapterOption.adapter + " trains: its adapter_config.json sets them");
        }
        if (!config.usePeft()) {
            throw new ParameterException(spec.commandLine(), String.join(", ", given) + " only apply to a LoRA"
                    + " run: add --use-peft");
        }
    }

    /** A 4-bit base trains a LoRA adapter only (PEFT): --load-in-4bit without --use-peft or --adapter is bad usage. */
    private void checkFourBitNeedsAdapter(OrpoConfig base, ParseResult parsed) {
        String fourBit = Settings.LOAD_IN_4BIT.flag().name();
        String peft = Settings.USE_PEFT.flag().name();
        if ((base.get(Settings.LOAD_IN_4BIT) || parsed.hasMatchedOption(fourBit)) && !base.usePeft()
                && !parsed.hasMatchedOption(peft) && adapterOption.adapter == null) {
            throw new ParameterException(spec.commandLine(), fourBit + " needs " + peft + " (or --adapter): a 4-bit"
                    + " base trains a LoRA adapter only, as PEFT");
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
