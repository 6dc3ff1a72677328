package org.orpo4j.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.model.TrainingForward;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SaveOptions;
import org.orpo4j.train.AdamW;
import org.orpo4j.train.Gradients;
import org.orpo4j.train.OrpoConfig;

/**
 * Hand-run LoRA benchmark (docs/benchmarks.md#lora), each configuration in its own process so each peak RSS
 * (VmHWM) is its own, with gradient checkpointing as the trainer's default has it ({@code --no-checkpointing}
 * turns it off in every run). {@code --case a}: one ORPO step of the SmolLM2-135M shape at 2 pairs × 256 tokens, full
 * fine-tuning against LoRA r 16 on q_proj,v_proj, side by side (step time, peak RSS, their ratios).
 * {@code --case qwen1.5b}: a Qwen2.5-1.5B-shaped model with random weights, written once as BF16 safetensors into
 * {@code --dir}, trained with LoRA (all-linear, r 16) for 3 steps of 1 pair × 512 tokens; its full fine-tuning needs
 * 16 bytes per parameter (24.7 GB) before any activation. Usage: {@code LoraBenchmark --case a|qwen1.5b
 * [--steps 3] [--threads 2] [--dir /tmp/orpo4j-qwen1.5b] [--no-checkpointing]}.
 */
public final class LoraBenchmark {

    /** Qwen2.5-1.5B's shapes (tied embeddings, q/k/v biases) at 1 pair × 512 tokens. */
    static final OrpoStepBenchmark.Case QWEN_1_5B =
            new OrpoStepBenchmark.Case("qwen1.5b", 151936, 1536, 28, 12, 2, 8960, 1, 512);

    private static final String NO_CHECKPOINTING = "orpo4j.bench.noCheckpointing";

    private LoraBenchmark() {}

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        if (mode.equals("child")) {
            child(args[1], args[2], Integer.parseInt(args[3]), args.length > 4 ? Path.of(args[4]) : null);
            return;
        }
        if (mode.equals("write-model")) {
            writeQwen(Path.of(args[1]));
            return;
        }
        String which = "a";
        int steps = 3;
        int threads = 2;
        Path dir = Path.of("/tmp/orpo4j-qwen1.5b");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--case" -> which = args[++i];
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--no-checkpointing" -> System.setProperty(NO_CHECKPOINTING, "true");
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: LoraBenchmark --case a|qwen1.5b [--steps 3] [--threads 2] [--dir DIR]"
                        + " [--no-checkpointing]");
            }
        }
        if (which.equals("a")) {
            Map<String, String> full = run(threads, "child", "a", "full", Integer.toString(steps));
            Map<String, String> lora = run(threads, "child", "a", "lora", Integer.toString(steps));
            System.out.printf(Locale.ROOT, "%ncase a (SmolLM2-135M shape, 2 pairs x 256 tokens), %d timed steps:%n",
                    steps);
            report(List.of(full, lora));
            System.out.printf(Locale.ROOT, "LoRA / full: step time %.3f, peak RSS %.3f%n",
                    value(lora, "step_median_s") / value(full, "step_median_s"),
                    value(lora, "peak_rss_mb") / value(full, "peak_rss_mb"));
        } else if (which.equals("qwen1.5b")) {
            if (!Files.exists(dir.resolve("model.safetensors.index.json"))
                    && !Files.exists(dir.resolve("model.safetensors"))) {
                run(threads, "write-model", dir.toString());
            }
            Map<String, String> lora = run(threads, "child", "qwen1.5b", "lora-all", Integer.toString(steps),
                    dir.toString());
            System.out.printf(Locale.ROOT, "%nQwen2.5-1.5B shape, LoRA all-linear r 16, 1 pair x 512 tokens:%n");
            report(List.of(lora));
        } else {
            throw new IllegalArgumentException("unknown case " + which + " (a or qwen1.5b)");
        }
    }

    private static double value(Map<String, String> r, String key) {
        return Double.parseDouble(r.get(key));
    }

    private static void report(List<Map<String, String>> rows) {
        System.out.printf(Locale.ROOT, "%-9s %-9s %9s %9s %12s %11s %11s %10s%n", "case", "run", "step_s", "min_s",
                "trainable", "peakRSS_MB", "weights_MB", "load_s");
        for (Map<String, String> r : rows) {
            System.out.printf(Locale.ROOT, "%-9s %-9s %9s %9s %12s %11s %11s %10s%n", r.get("case"), r.get("run"),
                    r.get("step_median_s"), r.get("step_min_s"), r.get("trainable"), r.get("peak_rss_mb"),
                    r.get("weights_mb"), r.get("load_s"));
        }
    }

    /** Runs this class in a child JVM (checkpointing as this JVM has it) and returns its RESULT line. */
    private static Map<String, String> run(int threads, String... args) throws Exception {
        return ChildJvm.run(LoraBenchmark.class, threads,
                Map.of(NO_CHECKPOINTING, String.valueOf(Boolean.getBoolean(NO_CHECKPOINTING))), args);
    }

    /** The 1.5B model with HF's random init, saved as BF16 (its own process: its memory is not the benchmark's). */
    private static void writeQwen(Path dir) {
        ModelConfig config = ModelConfig.builder("qwen2").vocabSize(QWEN_1_5B.vocab()).hiddenSize(QWEN_1_5B.hidden())
                .numHiddenLayers(QWEN_1_5B.layers()).numAttentionHeads(QWEN_1_5B.heads())
                .numKeyValueHeads(QWEN_1_5B.kvHeads()).intermediateSize(QWEN_1_5B.intermediate())
                .maxPositionEmbeddings(32768).ropeTheta(1_000_000).rmsNormEps(1e-6).tieWordEmbeddings(true)
                .attentionBias(true).build();
        long t0 = System.nanoTime();
        try (NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(config, manager, 1)) {
            lm.save(dir, SaveOptions.bf16(), null);
        }
        System.out.printf(Locale.ROOT, "wrote %s (BF16) in %.0f s%n", dir, (System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------------------------------------------- child

    private static void child(String caseName, String run, int steps, Path modelDir) throws IOException {
        boolean big = caseName.equals("qwen1.5b");
        boolean checkpoint = !Boolean.getBoolean(NO_CHECKPOINTING); // the trainer's default: on
        OrpoStepBenchmark.Case c = big ? QWEN_1_5B : OrpoStepBenchmark.CASES.get(caseName);
        long t0 = System.nanoTime();
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = big ? CausalLm.load(modelDir, root) : CausalLm.random(c.config(), root, 1)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            long weights = lm.parameters().values().stream().mapToLong(NDArray::size).sum();
            if (run.startsWith("lora")) {
                List<String> targets = run.equals("lora-all") ? List.of(LoraConfig.ALL_LINEAR)
                        : List.of("q_proj", "v_proj");
                LoraModel.attach(lm, new LoraConfig(16, 32, 0.0, targets, false, null), 1);
            }
            Map<String, NDArray> trainable = lm.trainableParameters();
            try (AdamW adam = AdamW.of(trainable, OrpoConfig.builder().build())) {
                OrpoLoss loss = OrpoLoss.builder().build();
                ChunkedOrpoLoss chunked = ChunkedOrpoLoss.of(loss);
                Gradients.zero(trainable.values());
                long[][] batch = OrpoStepBenchmark.batch(c);
                double[] times = new double[steps];
                for (int s = 0; s <= steps; s++) {
                    long start = System.nanoTime();
                    try (NDManager step = root.newSubManager()) {
                        NDList arrays = OrpoStepBenchmark.arrays(c, batch, step); // ids, mask, labels [2B, T]
                        NDArray ids = arrays.get(0);
                        NDArray mask = arrays.get(1);
                        NDArray labels = arrays.get(2);
                        try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                            TrainingForward forward = lm.trainingForward(ids, mask, checkpoint, null);
                            collector.backward(chunked.compute(forward.hidden(), lm.lmHeadWeight(), ids, mask,
                                    labels).loss());
                            forward.backward();
                        }
                    }
                    Gradients.clipGlobalNorm(trainable.values(), 1.0);
                    adam.step(1e-5);
                    Gradients.zero(trainable.values());
                    double seconds = (System.nanoTime() - start) / 1e9;
                    System.out.printf(Locale.ROOT, "step %d: %.3f s, VmHWM %d MB%n", s, seconds, ChildJvm.status("VmHWM"));
                    if (s > 0) {
                        times[s - 1] = seconds;
                    }
                }
                Arrays.sort(times);
                long trainableCount = trainable.values().stream().mapToLong(NDArray::size).sum();
                System.out.printf(Locale.ROOT, "RESULT case=%s run=%s step_median_s=%.3f step_min_s=%.3f"
                        + " trainable=%d weights_mb=%d peak_rss_mb=%d load_s=%.1f%n", caseName, run,
                        times[steps / 2], times[0], trainableCount, 4 * weights / (1 << 20), ChildJvm.status("VmHWM"),
                        loadSeconds);
            }
        }
    }
}
