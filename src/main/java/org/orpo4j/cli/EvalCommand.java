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
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code eval}: the {@code eval_} ORPO metrics of a model on a preference file, as one JSON object. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
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

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "8", description = "Pairs per batch. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--max-length", paramLabel = "L", defaultValue = "1024",
            description = "Longest prompt + answer in tokens. Default: ${DEFAULT-VALUE}.")
    int maxLength;

    @Option(names = "--max-prompt-length", paramLabel = "P", defaultValue = "512",
            description = "Longest prompt after truncation. Default: ${DEFAULT-VALUE}.")
    int maxPromptLength;

    @Option(names = "--beta", paramLabel = "B", defaultValue = "0.1",
            description = "ORPO beta (scales the rewards and the odds-ratio term). Default: ${DEFAULT-VALUE}.")
    double beta;

    @Option(names = "--alpha", paramLabel = "A", defaultValue = "1.0",
            description = "Extra multiplier of the odds-ratio term in eval_loss. Default: ${DEFAULT-VALUE}.")
    double alpha;

    @Override
    public Integer call() throws Exception {
        OrpoConfig config;
        try {
            config = OrpoConfig.builder().perDeviceEvalBatchSize(batchSize).maxLength(maxLength)
                    .maxPromptLength(maxPromptLength).beta(beta).alpha(alpha).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
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
                CausalLm lm = inputs.load(manager)) {
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
