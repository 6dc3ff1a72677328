package org.orpo4j.bench;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * Hand-run benchmark of the shared-prompt layout against TRL's two-row layout (docs/benchmarks.md#shared-prompt):
 * the trainer's own step (its defaults: gradient checkpointing, chunked loss when it pays, AdamW) on the
 * SmolLM2-135M shape, each layout in its own JVM, 1 warm-up step and the median of 5. Cases: {@code equal} 2 pairs
 * of 256 + 256 + 256 tokens (prompt, chosen, rejected); {@code prompt3x} 2 pairs of 768 + 256 + 256;
 * {@code mixed} 4 pairs of 64k + 64k + 64k tokens, k = 1..4 (lengths 4× apart). Usage: {@code SharedPromptBenchmark
 * [--cases equal,prompt3x,mixed] [--steps 5] [--threads 2]}.
 */
public final class SharedPromptBenchmark {

    /** A micro-batch shape: per pair prompt, chosen and rejected lengths. */
    private record Case(String name, int[][] pairs) {}

    private static final Map<String, Case> CASES = new LinkedHashMap<>();

    static {
        CASES.put("equal", new Case("equal", new int[][] {{256, 256, 256}, {256, 256, 256}}));
        CASES.put("prompt3x", new Case("prompt3x", new int[][] {{768, 256, 256}, {768, 256, 256}}));
        CASES.put("mixed", new Case("mixed", new int[][] {{64, 64, 64}, {128, 128, 128}, {192, 192, 192},
                {256, 256, 256}}));
    }

    private SharedPromptBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(CASES.get(args[1]), Boolean.parseBoolean(args[2]), Integer.parseInt(args[3]));
            return;
        }
        List<String> cases = new ArrayList<>(CASES.keySet());
        int steps = 5;
        int threads = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cases" -> cases = List.of(args[++i].split(","));
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage:"
                        + " SharedPromptBenchmark [--cases equal,prompt3x,mixed] [--steps 5] [--threads 2]");
            }
        }
        List<String> lines = new ArrayList<>();
        for (String name : cases) {
            Map<String, String> twoRow = ChildJvm.run(SharedPromptBenchmark.class, threads, Map.of(), "child", name,
                    "false", Integer.toString(steps));
            Map<String, String> shared = ChildJvm.run(SharedPromptBenchmark.class, threads, Map.of(), "child", name,
                    "true", Integer.toString(steps));
            for (Map<String, String> r : List.of(twoRow, shared)) {
                lines.add(String.format(Locale.ROOT, "%-9s %-13s %9s %9s %11s %10s %10s", name,
                        r.get("shared").equals("true") ? "shared prompt" : "two rows", r.get("step_median_s"),
                        r.get("step_min_s"), r.get("peak_rss_mb"), r.get("tokens_computed"), r.get("tokens_seen")));
            }
            lines.add(String.format(Locale.ROOT, "%-9s speed-up %.3fx, peak RSS ratio %.3f", name,
                    value(twoRow, "step_median_s") / value(shared, "step_median_s"),
                    value(shared, "peak_rss_mb") / value(twoRow, "peak_rss_mb")));
        }
        System.out.printf(Locale.ROOT, "%nSmolLM2-135M shape, median of %d steps after 1 warm-up:%n", steps);
        System.out.printf(Locale.ROOT, "%-9s %-13s %9s %9s %11s %10s %10s%n", "case", "layout", "step_s", "min_s",
                "peakRSS_MB", "computed", "seen");
        lines.forEach(System.out::println);
    }

    private static double value(Map<String, String> r, String key) {
        return Double.parseDouble(r.get(key));
    }

    /** One layout: the trainer for 1 + steps optimizer steps of one micro-batch each, timed by a listener. */
    private static void child(Case c, boolean shared, int steps) throws Exception {
        OrpoStepBenchmark.Case shape = OrpoStepBenchmark.CASES.get("a"); // SmolLM2-135M
        Random random = new Random(7);
        List<TokenizedPair> pairs = new ArrayList<>();
        for (int s = 0; s <= steps; s++) {
            for (int[] lengths : c.pairs()) {
                pairs.add(new TokenizedPair(tokens(random, lengths[0], shape.vocab()),
                        tokens(random, lengths[1], shape.vocab()), tokens(random, lengths[2], shape.vocab()), 0));
            }
        }
        Path out = Files.createTempDirectory("orpo4j-shared-prompt-bench");
        OrpoConfig config = OrpoConfig.builder().perDeviceTrainBatchSize(c.pairs().length).maxSteps(steps + 1)
                .shuffle(false).groupByLength(false).loggingSteps(1).saveStrategy("no").outputDir(out.toString())
                .sharedPrompt(shared).build();
        double[] times = new double[steps + 1];
        long[] tokens = new long[2];
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(shape.config(), root, 1)) {
            OrpoTrainer trainer = new OrpoTrainer(lm, config);
            trainer.addListener(new TrainerListener() {
                private long last;

                @Override
                public void onTrainBegin(TrainerState state, TrainerControl control) {
                    last = System.nanoTime();
                }

                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    long now = System.nanoTime();
                    int k = (int) state.globalStep() - 1;
                    times[k] = (now - last) / 1e9;
                    last = now;
                    tokens[0] = state.numTokensComputed();
                    tokens[1] = state.numInputTokensSeen();
                    System.out.printf(Locale.ROOT, "step %d: %.3f s%n", k, times[k]);
                }
            });
            trainer.train(PairSource.of(PreferenceDataset.of(pairs, 0)), null);
        }
        double[] timed = Arrays.copyOfRange(times, 1, times.length);
        Arrays.sort(timed);
        System.out.printf(Locale.ROOT, "RESULT case=%s shared=%s step_median_s=%.3f step_min_s=%.3f peak_rss_mb=%d"
                + " tokens_computed=%d tokens_seen=%d%n", c.name(), shared, timed[timed.length / 2], timed[0],
                ChildJvm.status("VmHWM"), tokens[0] / (steps + 1), tokens[1] / (steps + 1));
    }

    private static long[] tokens(Random random, int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 1 + random.nextInt(vocab - 1);
        }
        return ids;
    }
}
