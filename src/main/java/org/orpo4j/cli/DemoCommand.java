package org.orpo4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.orpo4j.data.ChatMessage;
import org.orpo4j.data.DataOptions;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.GenerationConfig;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.train.LrSchedulerType;
import org.orpo4j.train.MetricsWriter;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code demo}: the whole method on a laptop in a couple of minutes. A tiny random llama learns, with ORPO, the
 * bundled synthetic preference set (polite, helpful answers preferred over curt ones); the report compares
 * held-out reward accuracy and margin and greedy answers to unseen prompts before and after training.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a tiny model with ORPO on a bundled preference set and show what changed.",
                "Reports held-out reward accuracy and margin and greedy answers to unseen prompts before and after "
                        + "training, and writes the training curves as a PNG. Needs nothing but this jar; "
                        + "15-40 s on 2 cores."})
final class DemoCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(DemoCommand.class);

    static final int DEFAULT_STEPS = 300;
    private static final int HIDDEN_SIZE = 64;
    private static final int LAYERS = 2;
    private static final int BATCH_SIZE = 8;
    private static final int SHOWN_PROMPTS = 3;
    private static final int ANSWER_TOKENS = 20;
    /** The file that marks a folder as a demo's own, which the next demo may replace. */
    static final String MARKER = ".orpo4j-demo";

    @Spec
    CommandSpec spec;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "orpo4j-demo",
            description = "Work folder for the models, data, metrics and chart; an earlier demo's is replaced."
                    + " Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "" + DEFAULT_STEPS,
            description = "Optimizer steps. Default: ${DEFAULT-VALUE}.")
    int maxSteps;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the initial weights and the data order. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--lr", paramLabel = "X", defaultValue = "2e-3", description = "Peak learning rate. Default: ${DEFAULT-VALUE}.")
    double lr;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "PyTorch CPU threads; the demo model is so small that 1 is fastest. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (maxSteps <= 0) {
            throw new ParameterException(spec.commandLine(), "--max-steps must be positive, got " + maxSteps);
        }
        if (threads <= 0) {
            throw new ParameterException(spec.commandLine(), "--threads must be positive, got " + threads);
        }
        long start = System.nanoTime();
        claim(output);
        Path tokenizerDir = DemoAssets.writeTokenizer(output.resolve("base-model"));
        Path trainFile = DemoAssets.copy(DemoAssets.TRAIN, output.resolve("data").resolve(DemoAssets.TRAIN));
        Path heldoutFile = DemoAssets.copy(DemoAssets.HELDOUT, output.resolve("data").resolve(DemoAssets.HELDOUT));
        Path trainedDir = output.resolve("trained-model");
        Path chart = output.resolve("training_curves.png");
        OrpoConfig config = OrpoConfig.builder()
                .learningRate(lr).lrSchedulerType(LrSchedulerType.LINEAR).warmupRatio(0.05)
                .perDeviceTrainBatchSize(BATCH_SIZE).perDeviceEvalBatchSize(20).maxSteps(maxSteps)
                .beta(0.1).alpha(1.0).seed(seed).weightDecay(0.0)
                .loggingSteps(Math.max(1, maxSteps / 30)).loggingFirstStep(true)
                .evalStrategy("steps").evalSteps(Math.max(1, maxSteps / 6))
                .saveStrategy("no").outputDir(trainedDir).overwriteOutputDir(true).build(); // claimed above

        PrintWriter out = spec.commandLine().getOut();
        Report report;
        try (TorchThreads t = new TorchThreads(threads);
                HfTokenizer tokenizer = HfTokenizer.load(tokenizerDir);
                NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm model = CausalLm.random(modelConfig(tokenizer), manager, seed)) {
            model.save(tokenizerDir, SaveOptions.defaults(), null);
            long params = model.parameters().values().stream().mapToLong(NDArray::size).sum();
            DataOptions options = config.dataOptions();
            PairSource train = PairSource.of(PreferenceDataset.load(trainFile, tokenizer, options));
            PairSource heldout = PairSource.of(PreferenceDataset.load(heldoutFile, tokenizer, options));
            out.printf(Locale.ROOT, "orpo4j demo: a random %d-layer llama (%,d parameters) learns to prefer polite,"
                    + " helpful answers%n  from %d preference pairs; %d held-out pairs on unseen topics; %d steps."
                    + " Work folder: %s%n", LAYERS, params, train.size(), heldout.size(), maxSteps, output);
            out.flush();

            OrpoTrainer trainer = new OrpoTrainer(model, config).tokenizerDir(tokenizerDir);
            Completion completion = new Completion(model, tokenizer);
            List<DemoAssets.Row> rows = DemoAssets.rows(heldoutFile);
            Map<String, Double> before = trainer.evaluate(heldout);
            List<String> answersBefore = answers(completion, rows);
            LOG.info("training...");
            TrainResult result = trainer.train(train, heldout);
            report = new Report(rows, before, result.evalMetrics(), answersBefore, answers(completion, rows));
        }
        TrainingCurves.write(trainedDir.resolve(MetricsWriter.FILE), report.before, chart, "ORPO demo: ");
        String text = report.render(trainedDir, chart, (System.nanoTime() - start) / 1e9);
        Files.writeString(output.resolve("report.txt"), text, StandardCharsets.UTF_8);
        out.print(text);
        out.flush();
        return 0;
    }

    /**
     * Makes {@code dir} the demo's: a missing or empty folder, or one an earlier demo marked, is taken (the new run
     * replaces what the old one wrote); a folder holding anything else is refused, so a mistyped --output never
     * loses someone's files.
     */
    private void claim(Path dir) throws IOException {
        if (Files.isDirectory(dir) && !Files.exists(dir.resolve(MARKER))) {
            try (var children = Files.list(dir)) {
                if (children.findAny().isPresent()) {
                    throw new ParameterException(spec.commandLine(), "--output " + dir + " holds files that are not"
                            + " a demo's: choose another --output (an earlier demo's folder is simply replaced)");
                }
            }
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(MARKER), "orpo4j demo output: the next demo may replace this folder\n");
    }

    /** A ~100k-parameter llama sized for the bundled word-level vocabulary. */
    private ModelConfig modelConfig(HfTokenizer tokenizer) throws java.io.IOException {
        return ModelConfig.builder("llama")
                .vocabSize(tokenizer.vocabSize())
                .hiddenSize(HIDDEN_SIZE).intermediateSize(2 * HIDDEN_SIZE).numHiddenLayers(LAYERS)
                .numAttentionHeads(4).numKeyValueHeads(4).maxPositionEmbeddings(128)
                .tieWordEmbeddings(true).bosTokenId(null)
                .eosTokenIds((int) tokenizer.eosId().orElseThrow())
                .padTokenId((int) tokenizer.padId().orElseThrow())
                .build();
    }

    /** The greedy answer to every row's prompt. */
    private static List<String> answers(Completion completion, List<DemoAssets.Row> rows) {
        List<String> answers = new ArrayList<>();
        for (DemoAssets.Row row : rows) {
            answers.add(completion.chat(row.prompt(), GenerationConfig.greedy(ANSWER_TOKENS, null)).strip());
        }
        return answers;
    }

    /** The first two words of an answer: how the data's chosen and rejected styles differ at a glance. */
    static String opener(String answer) {
        String[] words = answer.strip().split("\\s+", 3);
        return words.length < 2 ? words[0] : words[0] + " " + words[1];
    }

    /** The before/after comparison. */
    record Report(List<DemoAssets.Row> rows, Map<String, Double> before, Map<String, Double> after,
            List<String> answersBefore, List<String> answersAfter) {

        /** How many answers open like one of the data's chosen answers, and like one of its rejected answers. */
        int[] styles(List<String> answers) {
            Set<String> chosen = new HashSet<>();
            Set<String> rejected = new HashSet<>();
            rows.forEach(r -> {
                chosen.add(opener(r.chosen()));
                rejected.add(opener(r.rejected()));
            });
            int[] counts = new int[2];
            for (String a : answers) {
                counts[0] += chosen.contains(opener(a)) ? 1 : 0;
                counts[1] += rejected.contains(opener(a)) ? 1 : 0;
            }
            return counts;
        }

        String render(Path trainedDir, Path chart, double seconds) {
            StringWriter s = new StringWriter();
            PrintWriter p = new PrintWriter(s);
            p.println();
            p.printf("Held-out pairs: %d, on topics never seen in training%n", rows.size());
            p.printf("  %-46s %10s    %s%n", "", "before", "after");
            for (String metric : new String[] {"rewards/accuracies", "rewards/margins", "loss", "nll_loss"}) {
                p.printf(Locale.ROOT, "  %-46s %10.4f -> %.4f%n", "eval_" + metric, before.get("eval_" + metric),
                        after.get("eval_" + metric));
            }
            int[] b = styles(answersBefore);
            int[] a = styles(answersAfter);
            String n = "/" + rows.size();
            p.printf("  %-46s %10s -> %s%n", "greedy answers opening like a chosen answer", b[0] + n, a[0] + n);
            p.printf("  %-46s %10s -> %s%n", "greedy answers opening like a rejected answer", b[1] + n, a[1] + n);
            p.println();
            p.println("Greedy answers to held-out prompts");
            for (int i = 0; i < SHOWN_PROMPTS; i++) {
                List<ChatMessage> prompt = rows.get(i).prompt();
                p.printf("  user:   %s%n", prompt.get(prompt.size() - 1).content());
                p.printf("  before: %s%n", answersBefore.get(i));
                p.printf("  after:  %s%n", answersAfter.get(i));
                p.println();
            }
            p.printf(Locale.ROOT, "Done in %.0f s. Training curves: %s%n", seconds, chart);
            p.printf("Trained model (HF folder): %s%n", trainedDir);
            List<ChatMessage> first = rows.get(0).prompt();
            p.printf("  try: java -jar target/orpo4j-cli.jar generate --model %s --chat --system \"%s\" --prompt \"%s\"%n",
                    trainedDir, first.get(0).content(), first.get(first.size() - 1).content());
            p.flush();
            return s.toString();
        }
    }
}
