package org.orpo4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.orpo4j.data.BadDataPolicy;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.LoadReport;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.hub.Hub;
import org.orpo4j.train.OrpoConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code train}'s pairs: files ({@code --data}, {@code --eval-data}) or the splits of a hub dataset. */
final class TrainData {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "FILE", description = "Training preference pairs (JSONL, JSON array or parquet).")
    Path data;

    @Option(names = "--dataset", paramLabel = "ORG/NAME",
            description = "A hub dataset instead of --data (its --dataset-split files; docs/hub.md).")
    String dataset;

    @Option(names = "--dataset-split", paramLabel = "SPLIT", defaultValue = "train",
            description = "The --dataset split to train on (train unless given).")
    String datasetSplit;

    @Option(names = "--eval-split", paramLabel = "SPLIT",
            description = "A --dataset split for the eval_ metrics (like --eval-data).")
    String evalSplit;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out pairs: eval_ metrics every --eval-every steps and at the end.")
    Path evalData;

    /** Bad usage (exactly one of --data and --dataset; --eval-split only with --dataset) fails before anything loads. */
    void check() {
        if ((data == null) == (dataset == null)) {
            throw new ParameterException(spec.commandLine(), "give the training pairs as --data FILE or --dataset"
                    + " ORG/NAME (one of them)");
        }
        if (evalSplit != null && dataset == null) {
            throw new ParameterException(spec.commandLine(), "--eval-split needs --dataset");
        }
    }

    /** Whether held-out pairs were given ({@code --eval-data} or {@code --eval-split}). */
    boolean hasEval() {
        return evalData != null || evalSplit != null;
    }

    /**
     * The training and evaluation files, known before any download: local files checked, a hub dataset's splits
     * resolved to their files (a split it lacks fails here), to be downloaded by {@link PlannedFiles#fetch()}.
     */
    PlannedFiles plan() throws IOException {
        if (data != null) {
            return new PlannedFiles(List.of(Inputs.file(data)), evalData == null ? List.of() : List.of(Inputs.file(evalData)),
                    List.of());
        }
        Hub hub = Hub.fromEnvironment();
        Hub.Plan train = hub.planDataset(dataset, datasetSplit);
        List<Hub.Plan> plans = new ArrayList<>(List.of(train));
        List<Path> eval = List.of();
        if (evalData != null) {
            eval = List.of(Inputs.file(evalData));
        } else if (evalSplit != null) {
            Hub.Plan split = hub.planDataset(dataset, evalSplit);
            plans.add(split);
            eval = paths(split);
        }
        return new PlannedFiles(paths(train), eval, plans);
    }

    private static List<Path> paths(Hub.Plan plan) {
        return plan.files().stream().map(plan.folder()::resolve).toList();
    }

    /** The files a run reads, and the hub snapshots still to download. */
    record PlannedFiles(List<Path> train, List<Path> eval, List<Hub.Plan> downloads) {

        void fetch() throws IOException {
            for (Hub.Plan plan : downloads) {
                plan.fetch();
            }
        }

        /** Every file by the flag that named it (what an output folder must stay clear of). */
        Map<String, Path> byFlag() {
            Map<String, Path> all = new LinkedHashMap<>();
            train.forEach(p -> all.put("the training data " + p, p));
            eval.forEach(p -> all.put("the evaluation data " + p, p));
            return all;
        }
    }

    /** The files (one, or a hub split's shards) as one dataset, each file's load report recorded. */
    static PreferenceDataset load(List<Path> files, HfTokenizer tokenizer, DataOptions options,
            Map<Path, LoadReport> reports) throws IOException {
        List<PreferenceDataset> parts = new ArrayList<>();
        for (Path file : files) {
            PreferenceDataset part = PreferenceDataset.load(file, tokenizer, options);
            reports.put(file, part.report());
            parts.add(part);
        }
        return parts.size() == 1 ? parts.get(0) : PreferenceDataset.concat(parts);
    }

    /** How the data files are read: the config's lengths and truncation, and the bad-row policy. */
    static DataOptions dataOptions(OrpoConfig config, boolean skipBadRows) {
        DataOptions options = config.dataOptions();
        return skipBadRows ? options.toBuilder().badData(BadDataPolicy.SKIP).build() : options;
    }
}
