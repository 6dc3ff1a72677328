package org.orpo4j.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.hub.Hub;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.LoadOptions;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.Setting;
import org.orpo4j.train.Settings;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code eval}: the {@code eval_} ORPO metrics of a model on a preference file, as one JSON object. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        modelTransformer = EvalCommand.TableOptions.class,
        description = "Print the eval_ ORPO metrics (TRL names) of a model on a preference file as one JSON object.")
final class EvalCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    DeviceOption deviceOption;

    @Mixin
    AdapterOption adapterOption;

    @Option(names = "--model", paramLabel = "DIR|ORG/NAME",
            description = "HF model folder (with tokenizer), or a hub name[@revision]; optional with --adapter.")
    String model;

    @Option(names = "--data", paramLabel = "FILE",
            description = "Preference pairs, JSONL, JSON array or parquet (row shapes: docs/data-formats.md).")
    Path data;

    @Option(names = "--dataset", paramLabel = "ORG/NAME", description = "A hub dataset instead of --data (docs/hub.md).")
    String dataset;

    @Option(names = "--dataset-split", paramLabel = "SPLIT", defaultValue = "test",
            description = "The --dataset split to evaluate. Default: ${DEFAULT-VALUE}.")
    String datasetSplit;

    @Option(names = "--skip-bad-rows", description = "Skip rows that cannot be used instead of stopping at the first.")
    boolean skipBadRows;

    /** The settings evaluation reads, made from the settings table; the evaluation batch is {@code --batch-size}. */
    static final SettingOptions SETTINGS = new SettingOptions(List.of(Settings.PER_DEVICE_EVAL_BATCH_SIZE,
            Settings.MAX_LENGTH, Settings.MAX_PROMPT_LENGTH, Settings.MAX_COMPLETION_LENGTH,
            Settings.TRUNCATION_MODE, Settings.BETA, Settings.ALPHA, Settings.ATTN_IMPLEMENTATION),
            Map.of(Settings.PER_DEVICE_EVAL_BATCH_SIZE, Setting.Flag.value("--batch-size", "B")));

    /** Adds {@link #SETTINGS}' options and the 4-bit loading ones. */
    static final class TableOptions implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            return FourBitOptions.addTo(SETTINGS.addTo(spec));
        }
    }

    @Override
    public Integer call() throws Exception {
        OrpoConfig config = SETTINGS.apply(spec.commandLine().getParseResult(), OrpoConfig.builder(),
                spec.commandLine());
        LoadOptions load = FourBitOptions.read(spec.commandLine().getParseResult(), spec.commandLine());
        if ((data == null) == (dataset == null)) {
            throw new ParameterException(spec.commandLine(), "give the pairs as --data FILE or --dataset ORG/NAME"
                    + " (one of them)");
        }
        ModelInputs inputs = ModelInputs.resolve(model, adapterOption.adapter);
        Hub.Plan split = data != null ? null : Hub.fromEnvironment().planDataset(dataset, datasetSplit);
        List<Path> files = data != null ? List.of(Inputs.file(data))
                : split.files().stream().map(split.folder()::resolve).toList();
        inputs.prepare();
        if (split != null) {
            split.fetch();
        }
        Map<String, Double> metrics;
        int rows;
        try (HfTokenizer tokenizer = HfTokenizer.load(inputs.tokenizerDir());
                NDManager manager = DjlRuntime.newManager(deviceOption.resolve());
                CausalLm lm = inputs.load(manager, load)) {
            PreferenceDataset pairs = TrainData.load(files, tokenizer, TrainData.dataOptions(config, skipBadRows),
                    new java.util.LinkedHashMap<>());
            rows = pairs.size();
            metrics = new OrpoTrainer(lm, config).evaluate(PairSource.of(pairs));
        }
        ObjectNode json = JSON.createObjectNode();
        metrics.forEach(json::put);
        json.put("eval_samples", rows);
        PrintWriter out = spec.commandLine().getOut();
        out.println(JSON.writeValueAsString(json));
        out.flush();
        return 0;
    }
}
