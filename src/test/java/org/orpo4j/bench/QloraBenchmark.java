package org.orpo4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.NullNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.LoadOptions;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.quantization.QuantConfig;
import org.orpo4j.quantization.QuantType;
import org.orpo4j.quantization.QuantizedWeight;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.Settings;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * Hand-run QLoRA benchmark (docs/benchmarks.md#qlora): ORPO-LoRA (all-linear, r 16, alpha 32, gradient
 * checkpointing, the shared-prompt layout) through {@link OrpoTrainer}, 1 pair of 128 prompt + 128 chosen + 128
 * rejected tokens per step, from a BF16 safetensors checkpoint of random weights the benchmark writes itself, shard
 * by shard ({@link RandomCheckpoint}); each run in its own JVM, so its peak RSS (VmHWM) is its own.
 * {@code --case mistral7b}: Mistral-7B's shapes (H 4096, 32 layers, 32/8 heads, I 14336, V 32000), its base
 * quantized to NF4 with double quantization while it loads; its float32 base alone (29 GB) would not fit this
 * machine. {@code --case side-by-side}: a 0.6B Mistral-shaped model (H 2048, 8 layers, I 7168) trained over its
 * float32 base and over its NF4 base in one run, with the ratios. Usage: {@code QloraBenchmark --case
 * mistral7b|side-by-side [--steps 2] [--threads 2] [--dir /tmp/orpo4j-mistral7b]}.
 */
public final class QloraBenchmark {

    private QloraBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(Path.of(args[1]), args[2].equals("nf4"), Integer.parseInt(args[3]));
            return;
        }
        if (args.length > 0 && args[0].equals("write-model")) {
            RandomCheckpoint.write(Path.of(args[2]), config(args[1]), 1);
            System.out.println("RESULT written=" + args[2]);
            return;
        }
        String which = "mistral7b";
        int steps = 2;
        int threads = 2;
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--case" -> which = args[++i];
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: QloraBenchmark"
                        + " --case mistral7b|side-by-side [--steps 2] [--threads 2] [--dir DIR]");
            }
        }
        config(which); // an unknown case fails before anything is written
        Path model = dir != null ? dir : Path.of("/tmp/orpo4j-" + which);
        if (!Files.exists(model.resolve("model.safetensors.index.json"))) {
            long t0 = System.nanoTime();
            ChildJvm.run(QloraBenchmark.class, threads, Map.of(), "write-model", which, model.toString());
            System.out.printf(Locale.ROOT, "checkpoint written in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        }
        System.out.println("load average before: " + Files.readString(Path.of("/proc/loadavg")).strip());
        List<Map<String, String>> rows = new ArrayList<>();
        if (which.equals("side-by-side")) {
            rows.add(ChildJvm.run(QloraBenchmark.class, threads, Map.of(), "child", model.toString(), "float32",
                    Integer.toString(steps)));
        }
        rows.add(ChildJvm.run(QloraBenchmark.class, threads, Map.of(), "child", model.toString(), "nf4",
                Integer.toString(steps)));
        System.out.println("load average after: " + Files.readString(Path.of("/proc/loadavg")).strip());
        System.out.printf(Locale.ROOT, "%n%s, LoRA all-linear r 16, 1 pair x (128 + 128 + 128) tokens, %d threads:%n",
                which, threads);
        System.out.printf(Locale.ROOT, "%-8s %8s %10s %10s %12s %12s %11s%n", "base", "load_s", "step1_s",
                "step2_s", "base_MB", "trainable", "peakRSS_MB");
        for (Map<String, String> r : rows) {
            System.out.printf(Locale.ROOT, "%-8s %8s %10s %10s %12s %12s %11s%n", r.get("base"), r.get("load_s"),
                    r.get("step1_s"), r.get("step2_s"), r.get("base_mb"), r.get("trainable"), r.get("peak_rss_mb"));
        }
        if (rows.size() == 2) {
            System.out.printf(Locale.ROOT, "nf4 / float32: step %.3f, peak RSS %.3f, base bytes %.3f%n",
                    value(rows.get(1), "step2_s") / value(rows.get(0), "step2_s"),
                    value(rows.get(1), "peak_rss_mb") / value(rows.get(0), "peak_rss_mb"),
                    value(rows.get(1), "base_mb") / value(rows.get(0), "base_mb"));
        }
    }

    private static double value(Map<String, String> r, String key) {
        return Double.parseDouble(r.get(key));
    }

    /** Mistral-7B-v0.1's config (no sliding window, as v0.2), or the 0.6B side-by-side shape. */
    static ModelConfig config(String which) {
        ModelConfig.Builder b = ModelConfig.builder("mistral").vocabSize(32000).maxPositionEmbeddings(32768)
                .ropeTheta(1_000_000).rmsNormEps(1e-5).tieWordEmbeddings(false).set("sliding_window",
                        NullNode.getInstance());
        return switch (which) {
            case "mistral7b" -> b.hiddenSize(4096).numHiddenLayers(32).numAttentionHeads(32).numKeyValueHeads(8)
                    .intermediateSize(14336).headDimFromHeads().build();
            case "side-by-side" -> b.hiddenSize(2048).numHiddenLayers(8).numAttentionHeads(16).numKeyValueHeads(4)
                    .intermediateSize(7168).headDimFromHeads().build();
            default -> throw new IllegalArgumentException("unknown case " + which + " (mistral7b or side-by-side)");
        };
    }

    // ------------------------------------------------------------------------------------------------- child

    private static void child(Path dir, boolean nf4, int steps) throws Exception {
        long t0 = System.nanoTime();
        LoadOptions load = nf4 ? LoadOptions.loadIn4bit(QuantConfig.of(QuantType.NF4, true)) : LoadOptions.defaults();
        Path out = Files.createTempDirectory("orpo4j-qlora-bench"); // the adapter and metrics, deleted at the end
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.load(dir, dir.toString(), root, load)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            long baseBytes = lm.parameters().values().stream().mapToLong(a -> 4 * a.size()).sum()
                    + lm.quantizedWeights().values().stream().mapToLong(QuantizedWeight::bytes).sum();
            System.out.printf(Locale.ROOT, "loaded in %.1f s: base %d MB, VmHWM %d MB%n", loadSeconds,
                    baseBytes >> 20, ChildJvm.status("VmHWM"));
            OrpoConfig config = OrpoConfig.builder().usePeft(true).loraR(16).loraAlpha(32).loraDropout(0)
                    .loraTargetModules(List.of("all-linear")).set(Settings.LOAD_IN_4BIT, nf4)
                    .set(Settings.USE_BNB_NESTED_QUANT, nf4).perDeviceTrainBatchSize(1).maxSteps(steps)
                    .learningRate(1e-4).loggingSteps(1).saveStrategy("no").shuffle(false).gradientCheckpointing(true)
                    .outputDir(out.resolve("run").toString()).build();
            double[] seconds = new double[steps];
            OrpoTrainer trainer = new OrpoTrainer(lm, config).addListener(new TrainerListener() {
                long last;

                @Override
                public void onTrainBegin(TrainerState state, TrainerControl control) {
                    last = System.nanoTime();
                }

                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    long now = System.nanoTime();
                    int step = (int) state.globalStep();
                    seconds[step - 1] = (now - last) / 1e9;
                    last = now;
                    try {
                        System.out.printf(Locale.ROOT, "step %d: %.1f s, VmHWM %d MB%n", step, seconds[step - 1],
                                ChildJvm.status("VmHWM"));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            });
            trainer.train(pairs(steps, lm.config().vocabSize()), null);
            long trainable = lm.trainableParameters().values().stream().mapToLong(NDArray::size).sum();
            System.out.printf(Locale.ROOT, "RESULT base=%s load_s=%.1f step1_s=%.1f step2_s=%.1f base_mb=%d"
                    + " trainable=%d peak_rss_mb=%d%n", nf4 ? "nf4" : "float32", loadSeconds, seconds[0],
                    seconds[Math.min(1, steps - 1)], baseBytes >> 20, trainable, ChildJvm.status("VmHWM"));
        } finally {
            try (Stream<Path> files = Files.walk(out)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /** {@code n} pairs of 128 prompt, 128 chosen and 128 rejected random tokens. */
    private static PairSource pairs(int n, int vocab) {
        Random random = new Random(7);
        List<TokenizedPair> pairs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pairs.add(new TokenizedPair(ids(random, vocab), ids(random, vocab), ids(random, vocab), i + 1));
        }
        return PairSource.of(PreferenceDataset.of(pairs, 0));
    }

    private static long[] ids(Random random, int vocab) {
        long[] ids = new long[128];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 3 + random.nextInt(vocab - 3);
        }
        return ids;
    }
}
