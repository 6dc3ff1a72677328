package org.orpo4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.model.TrainingForward;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.AdamW;
import org.orpo4j.train.Gradients;
import org.orpo4j.train.OrpoConfig;

/**
 * Hand-run benchmark (not a test, not in CI) of one full ORPO training step — forward, loss, backward, AdamW
 * update — in orpo4j and in PyTorch eager, side by side, each configuration in its own process so that every
 * peak RSS (VmHWM) is its own. Reports step time (median of the timed steps after one warm-up), tokens/s, peak
 * RSS, RSS over the state before the first step (weights, gradients, Adam moments), and MFU against a large fp32
 * matmul timed in the same process. See docs/benchmarks.md. Usage: {@code OrpoStepBenchmark [--steps 5] [--threads 2]
 * [--cases a,b,b2,b4,c,d] [--paths plain,chunked,plain-head,chunked-head,plain-ckpt,chunked-ckpt]
 * [--no-torch]}.
 */
public final class OrpoStepBenchmark {

    private static final String TORCH_SCRIPT = "src/test/python/bench/orpo_step_torch.py";
    private static final String PYTHON = "/usr/bin/python3";

    /** One benchmark shape: the model (llama family, tied embeddings) and the batch (pairs × length). */
    record Case(String name, int vocab, int hidden, int layers, int heads, int kvHeads, int intermediate,
            int pairs, int length) {

        ModelConfig config() {
            return ModelConfig.builder("llama").vocabSize(vocab).hiddenSize(hidden).numHiddenLayers(layers)
                    .numAttentionHeads(heads).numKeyValueHeads(kvHeads).intermediateSize(intermediate)
                    .maxPositionEmbeddings(Math.max(2048, length)).tieWordEmbeddings(true).build();
        }

        long tokens() {
            return 2L * pairs * length;
        }

        long headDim() {
            return hidden / heads;
        }

        long parameters() {
            long d = headDim();
            long attention = (long) hidden * heads * d * 2 + (long) hidden * kvHeads * d * 2;
            long mlp = 3L * hidden * intermediate;
            return (long) vocab * hidden + layers * (attention + mlp + 2L * hidden) + hidden;
        }

        /**
         * Model FLOPs of one training step (forward + backward = 3 × forward), counting every matmul: the layers'
         * projections, attention scores and weighted sum over all T keys (eager attention computes the full
         * square), and the LM head. The chunked path's recomputed logits are not model FLOPs and are not counted.
         */
        double stepFlops() {
            double perTokenLinear = 2.0 * (parameters() - (long) vocab * hidden - layers * 2L * hidden - hidden);
            double perTokenAttention = layers * 2.0 * 2.0 * length * heads * headDim();
            double perTokenHead = 2.0 * vocab * hidden;
            return 3.0 * tokens() * (perTokenLinear + perTokenAttention + perTokenHead);
        }
    }

    static final Map<String, Case> CASES = new LinkedHashMap<>();

    static {
        // SmolLM2-135M shapes at 2 pairs x 256 tokens
        CASES.put("a", new Case("a", 49152, 576, 30, 9, 3, 1536, 2, 256));
        // large vocabulary (Qwen-like dims, 2 layers) at 1 pair x 1024 tokens, and the same at half the vocabulary
        CASES.put("b", new Case("b", 151936, 1024, 2, 16, 8, 3072, 1, 1024));
        CASES.put("b2", new Case("b2", 75968, 1024, 2, 16, 8, 3072, 1, 1024));
        CASES.put("b4", new Case("b4", 37984, 1024, 2, 16, 8, 3072, 1, 1024));
        // case a cut to 4 layers: quick profiling of the same shapes
        CASES.put("a4", new Case("a4", 49152, 576, 4, 9, 3, 1536, 2, 256));
        // SmolLM2-135M shapes at 1 pair of prompt 256 + answers 768 tokens, and at 1 pair x 2048 tokens: long pairs,
        // where activations outgrow the training state (gradient checkpointing)
        CASES.put("c", new Case("c", 49152, 576, 30, 9, 3, 1536, 1, 1024));
        CASES.put("d", new Case("d", 49152, 576, 30, 9, 3, 1536, 1, 2048));
        // a seconds-long check that the harness works
        CASES.put("smoke", new Case("smoke", 4096, 128, 2, 4, 2, 256, 2, 64));
    }

    /**
     * Path suffix for the LM head and the loss alone ({@code plain-head}, {@code chunked-head}): hidden states and W
     * as trainable leaves, forward and backward of the loss, no model and no optimizer, the setting in which fused
     * linear+loss kernels state their memory savings.
     */
    private static final String HEAD_ONLY = "-head";

    /** Path suffix for gradient checkpointing ({@code plain-ckpt}, {@code chunked-ckpt}); torch then checkpoints too. */
    private static final String CHECKPOINTED = "-ckpt";

    /** Case b at smaller vocabularies: how the extra memory grows with V (orpo4j only, no torch run). */
    private static final Set<String> VOCABULARY_SWEEP = Set.of("b2", "b4");

    private OrpoStepBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            if (args[2].endsWith(HEAD_ONLY)) {
                headChild(CASES.get(args[1]), args[2], Integer.parseInt(args[3]));
            } else {
                child(CASES.get(args[1]), args[2], Integer.parseInt(args[3]));
            }
            return;
        }
        int steps = 5;
        int threads = 2;
        List<String> cases = List.of("a", "b", "b2");
        boolean torch = true;
        List<String> paths = List.of("plain", "chunked");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--cases" -> cases = List.of(args[++i].split(","));
                case "--paths" -> paths = List.of(args[++i].split(","));
                case "--no-torch" -> torch = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: OrpoStepBenchmark [--steps 5] [--threads 2] [--cases a,b,b2]"
                        + " [--paths plain,chunked,plain-head,chunked-head]"
                        + " [--no-torch]");
            }
        }
        System.out.printf(Locale.ROOT, "machine: %s, %d cores visible; load average %s; threads %d, steps %d%n",
                cpuModel(), Runtime.getRuntime().availableProcessors(), loadAverage(), threads, steps);
        List<Map<String, String>> rows = new ArrayList<>();
        for (String name : cases) {
            Case c = CASES.get(name);
            if (c == null) {
                throw new IllegalArgumentException("unknown case " + name + "; known: " + CASES.keySet());
            }
            for (String path : paths) {
                rows.add(runJava(c, path, steps, threads));
            }
            if (torch && !VOCABULARY_SWEEP.contains(name)) {
                rows.add(runTorch(c, steps, threads, false));
                if (paths.stream().anyMatch(p -> p.endsWith(CHECKPOINTED))) {
                    rows.add(runTorch(c, steps, threads, true));
                }
            }
        }
        report(rows);
    }

    // ------------------------------------------------------------------------------------------------ parent

    private static Map<String, String> runJava(Case c, String path, int steps, int threads) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=" + threads, "-Dai.djl.pytorch.num_interop_threads=" + threads,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), OrpoStepBenchmark.class.getName(),
                "child", c.name(), path, Integer.toString(steps)));
        Map<String, String> r = ChildJvm.runCommand(cmd);
        r.put("impl", "orpo4j");
        return r;
    }

    private static Map<String, String> runTorch(Case c, int steps, int threads, boolean checkpoint) throws Exception {
        if (!Files.exists(Path.of(TORCH_SCRIPT))) {
            throw new IllegalStateException(TORCH_SCRIPT + " not found: run from the repository root");
        }
        List<String> cmd = new ArrayList<>(List.of(PYTHON, TORCH_SCRIPT, "--vocab", "" + c.vocab(), "--hidden",
                "" + c.hidden(), "--layers", "" + c.layers(), "--heads", "" + c.heads(), "--kv-heads", "" + c.kvHeads(),
                "--intermediate", "" + c.intermediate(), "--pairs", "" + c.pairs(), "--length", "" + c.length(),
                "--steps", "" + steps, "--threads", "" + threads, "--flops", "" + c.stepFlops(),
                "--params", "" + c.parameters()));
        if (checkpoint) {
            cmd.add("--checkpoint");
        }
        Map<String, String> r = ChildJvm.runCommand(cmd);
        r.put("impl", "torch");
        r.put("case", c.name());
        r.put("path", checkpoint ? "plain" + CHECKPOINTED : "plain");
        return r;
    }


    private static void report(List<Map<String, String>> rows) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-4s %-8s %-7s %9s %9s %9s %10s %10s %10s %6s %8s%n", "case", "path", "impl",
                "step_s", "min_s", "tok/s", "peakRSS_MB", "state_MB", "extra_MB", "MFU%", "peakGF/s");
        for (Map<String, String> r : rows) {
            System.out.printf(Locale.ROOT, "%-4s %-8s %-7s %9s %9s %9s %10s %10s %10s %6s %8s%n", r.get("case"),
                    r.get("path"), r.get("impl"), r.get("step_median_s"), r.get("step_min_s"), r.get("tokens_per_s"),
                    r.get("peak_rss_mb"), r.get("state_mb"), r.get("extra_mb"), r.get("mfu_pct"),
                    r.get("matmul_peak_gflops"));
        }
        System.out.println();
        for (String c : CASES.keySet()) {
            Map<String, String> torch = find(rows, c, "plain", "torch");
            for (String path : List.of("plain", "chunked")) {
                Map<String, String> ours = find(rows, c, path, "orpo4j");
                if (torch != null && ours != null) {
                    System.out.printf(Locale.ROOT, "case %s: orpo4j %s / torch step time = %.3f%n", c, path,
                            Double.parseDouble(ours.get("step_median_s"))
                                    / Double.parseDouble(torch.get("step_median_s")));
                }
            }
            checkpointRatios(c, find(rows, c, "chunked", "orpo4j"), find(rows, c, "chunked" + CHECKPOINTED, "orpo4j"),
                    torch, find(rows, c, "plain" + CHECKPOINTED, "torch"));
            for (String suffix : List.of("", HEAD_ONLY)) {
                ratios(c + suffix, find(rows, c, "plain" + suffix, "orpo4j"),
                        find(rows, c, "chunked" + suffix, "orpo4j"));
            }
        }
    }

    /** Gradient checkpointing: peak RSS against PyTorch with and without it, activations and time against ours. */
    private static void checkpointRatios(String c, Map<String, String> ours, Map<String, String> oursCkpt,
            Map<String, String> torch, Map<String, String> torchCkpt) {
        if (oursCkpt == null) {
            return;
        }
        double peak = Double.parseDouble(oursCkpt.get("peak_rss_mb"));
        if (torch != null) {
            System.out.printf(Locale.ROOT, "case %s: checkpointed peak RSS / torch eager's = %.3f%n", c,
                    peak / Double.parseDouble(torch.get("peak_rss_mb")));
        }
        if (torchCkpt != null) {
            System.out.printf(Locale.ROOT, "case %s: checkpointed peak RSS / torch eager with checkpoint's = %.3f%n", c,
                    peak / Double.parseDouble(torchCkpt.get("peak_rss_mb")));
        }
        if (ours != null) {
            System.out.printf(Locale.ROOT, "case %s: checkpointed / plain orpo4j: activations (extra) %s / %s MB = %.3f,"
                    + " step time %.3f%n", c, oursCkpt.get("extra_mb"), ours.get("extra_mb"),
                    Double.parseDouble(oursCkpt.get("extra_mb")) / Double.parseDouble(ours.get("extra_mb")),
                    Double.parseDouble(oursCkpt.get("step_median_s")) / Double.parseDouble(ours.get("step_median_s")));
        }
    }

    private static void ratios(String c, Map<String, String> plain, Map<String, String> chunked) {
        if (plain != null && chunked != null) {
            System.out.printf(Locale.ROOT, "case %s: chunked / plain peak RSS = %.3f; step memory over the state"
                    + " (extra) chunked / plain = %s / %s MB = %.3f%n", c,
                    Double.parseDouble(chunked.get("peak_rss_mb")) / Double.parseDouble(plain.get("peak_rss_mb")),
                    chunked.get("extra_mb"), plain.get("extra_mb"),
                    Double.parseDouble(chunked.get("extra_mb")) / Double.parseDouble(plain.get("extra_mb")));
        }
    }

    private static Map<String, String> find(List<Map<String, String>> rows, String c, String path, String impl) {
        return rows.stream().filter(r -> c.equals(r.get("case")) && path.equals(r.get("path"))
                && impl.equals(r.get("impl"))).findFirst().orElse(null);
    }

    // ------------------------------------------------------------------------------------------------- child

    private static void child(Case c, String path, int steps) throws IOException {
        boolean chunked = path.startsWith("chunked");
        boolean checkpoint = path.endsWith(CHECKPOINTED);
        Device device = DjlRuntime.defaultDevice();
        try (NDManager root = DjlRuntime.newManager(device)) {
            double peakFlops = matmulPeak(root);
            long rssStart = status("VmRSS");
            try (CausalLm lm = CausalLm.random(c.config(), root, 1);
                    AdamW adam = AdamW.of(lm.parameters(), OrpoConfig.builder().build())) {
                long params = lm.parameters().values().stream().mapToLong(NDArray::size).sum();
                if (params != c.parameters()) {
                    throw new IllegalStateException("parameter count " + params + " != formula " + c.parameters());
                }
                OrpoLoss loss = OrpoLoss.builder().build();
                ChunkedOrpoLoss chunkedLoss = ChunkedOrpoLoss.of(loss);
                Gradients.zero(lm.parameters().values()); // as the trainer: the gradients exist before step 1
                long rssState = status("VmRSS");
                long[][] batch = batch(c);
                double[][] times = new double[steps + 1][];
                for (int s = 0; s <= steps; s++) {
                    times[s] = step(root, lm, adam, loss, chunkedLoss, chunked, checkpoint, c, batch);
                    System.out.printf(Locale.ROOT, "step %d: total %.3f s (forward+loss %.3f, backward %.3f, adamw %.3f);"
                            + " VmHWM after them %d / %d / %d MB%n", s, times[s][0], times[s][1], times[s][2],
                            times[s][3], mb(hwm[0]), mb(hwm[1]), mb(hwm[2]));
                }
                double[] totals = Arrays.stream(times, 1, steps + 1).mapToDouble(t -> t[0]).sorted().toArray();
                double median = totals[totals.length / 2];
                long peak = status("VmHWM");
                double flops = c.stepFlops();
                // state: the process before its first step (weights, gradients, Adam moments, what building them
                // left on the JVM heap); extra: what the steps needed on top of it
                System.out.printf(Locale.ROOT, "RESULT case=%s path=%s step_median_s=%.3f step_min_s=%.3f tokens_per_s=%.1f"
                        + " peak_rss_mb=%d state_mb=%d extra_mb=%d weights_grads_adam_mb=%d rss_start_mb=%d"
                        + " rss_end_mb=%d mfu_pct=%.1f matmul_peak_gflops=%.1f params=%d chunk_tokens=%d%n",
                        c.name(), path, median, totals[0], c.tokens() / median, mb(peak), mb(rssState),
                        mb(peak - rssState), mb(16L * params), mb(rssStart), mb(status("VmRSS")),
                        100 * flops / median / peakFlops, peakFlops / 1e9, params,
                        chunked ? chunkedLoss.chunkTokens(c.vocab()) : 0);
            }
        }
    }

    /**
     * The loss alone: hidden states [2B, T, H] and W [V, H] as trainable leaves (W's gradient created before the
     * first step, as the trainer does), each step forward + backward of the ORPO loss on hidden·Wᵀ, plain or
     * chunked. State = W, its gradient and the hidden states; extra = what the loss needs on top.
     */
    private static void headChild(Case c, String path, int steps) throws IOException {
        boolean chunked = path.startsWith("chunked");
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice())) {
            long rssStart = status("VmRSS");
            NDArray w = root.randomNormal(0, 0.02f, new Shape(c.vocab(), c.hidden()), DataType.FLOAT32);
            w.setRequiresGradient(true);
            Gradients.zero(List.of(w));
            NDArray hidden = root.randomNormal(new Shape(2L * c.pairs(), c.length(), c.hidden()));
            hidden.setRequiresGradient(true);
            long rssState = status("VmRSS");
            OrpoLoss loss = OrpoLoss.builder().build();
            ChunkedOrpoLoss chunkedLoss = ChunkedOrpoLoss.of(loss);
            long[][] batch = batch(c);
            double[] totals = new double[steps];
            for (int s = 0; s <= steps; s++) {
                long t0 = System.nanoTime();
                try (NDManager step = root.newSubManager();
                        GradientCollector collector = root.getEngine().newGradientCollector()) {
                    NDList arrays = OrpoStepBenchmark.arrays(c, batch, step); // ids, mask, labels [2B, T]
                    NDArray ids = arrays.get(0);
                    NDArray mask = arrays.get(1);
                    NDArray labels = arrays.get(2);
                    OrpoLoss.Output out = chunked ? chunkedLoss.compute(hidden, w, ids, mask, labels)
                            : loss.compute(hidden.getNDArrayInternal().linear(hidden, w, null).singletonOrThrow(),
                                    ids, mask, labels);
                    collector.backward(out.loss());
                }
                Gradients.zero(List.of(w, hidden));
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "step %d: loss forward+backward %.3f s; VmHWM %d MB%n", s, seconds,
                        mb(status("VmHWM")));
                if (s > 0) {
                    totals[s - 1] = seconds;
                }
            }
            Arrays.sort(totals);
            long peak = status("VmHWM");
            System.out.printf(Locale.ROOT, "RESULT case=%s path=%s step_median_s=%.3f step_min_s=%.3f tokens_per_s=%.1f"
                    + " peak_rss_mb=%d state_mb=%d extra_mb=%d rss_start_mb=%d mfu_pct=- matmul_peak_gflops=-%n",
                    c.name(), path, totals[steps / 2], totals[0], c.tokens() / totals[steps / 2], mb(peak),
                    mb(rssState), mb(peak - rssState), mb(rssStart));
        }
    }

    /** VmHWM after forward+loss, after backward, after the optimizer: which phase sets the peak. */
    private static final long[] hwm = new long[3];

    /** One training step in a step manager; returns {total, forward+loss, backward, optimizer} seconds. */
    private static double[] step(NDManager root, CausalLm lm, AdamW adam, OrpoLoss loss, ChunkedOrpoLoss chunkedLoss,
            boolean chunked, boolean checkpoint, Case c, long[][] batch) throws IOException {
        long t0 = System.nanoTime();
        long t1;
        long t2;
        try (NDManager step = root.newSubManager()) {
            NDList arrays = OrpoStepBenchmark.arrays(c, batch, step); // ids, mask, labels [2B, T]
            NDArray ids = arrays.get(0);
            NDArray mask = arrays.get(1);
            NDArray labels = arrays.get(2);
            try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                TrainingForward forward = lm.trainingForward(ids, mask, checkpoint, null);
                OrpoLoss.Output out = chunked
                        ? chunkedLoss.compute(forward.hidden(), lm.lmHeadWeight(), ids, mask, labels)
                        : loss.compute(lm.logits(forward.hidden()), ids, mask, labels);
                t1 = System.nanoTime();
                hwm[0] = status("VmHWM");
                collector.backward(out.loss());
                forward.backward();
                t2 = System.nanoTime();
                hwm[1] = status("VmHWM");
            }
        }
        adam.step(1e-5);
        Gradients.zero(lm.parameters().values());
        long t3 = System.nanoTime();
        hwm[2] = status("VmHWM");
        return new double[] {(t3 - t0) / 1e9, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9};
    }

    /** {@link #batch} as the [2B, T] ids, attention mask and labels in {@code manager}. */
    static NDList arrays(Case c, long[][] batch, NDManager manager) {
        Shape shape = new Shape(2L * c.pairs(), c.length());
        return new NDList(manager.create(batch[0], shape), manager.create(batch[1], shape),
                manager.create(batch[2], shape));
    }

    /** Random ids (no padding: every row is T real tokens), a prompt of T/4 tokens, completion labels after it. */
    static long[][] batch(Case c) {
        int rows = 2 * c.pairs();
        int t = c.length();
        Random random = new Random(7);
        long[] ids = new long[rows * t];
        long[] mask = new long[rows * t];
        long[] labels = new long[rows * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + random.nextInt(c.vocab() - 1);
            mask[i] = 1;
            labels[i] = i % t < t / 4 ? OrpoLoss.IGNORE_INDEX : ids[i];
        }
        return new long[][] {ids, mask, labels};
    }

    /** Best-of-10 FLOP/s of a 2048³ float32 matmul (after a warm-up), the machine's practical fp32 peak here. */
    private static double matmulPeak(NDManager root) {
        int n = 2048;
        try (NDManager m = root.newSubManager()) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 11; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    c.getFloat(0, 0); // wait for the result (asynchronous on GPU)
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (i > 0) {
                    best = Math.min(best, s);
                }
            }
            return 2.0 * n * n * n / best;
        }
    }

    /** A kB field of /proc/self/status in bytes (VmRSS now, VmHWM the peak). */
    private static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException(field + " not in /proc/self/status");
    }

    private static long mb(long bytes) {
        return bytes / (1024 * 1024);
    }

    private static String cpuModel() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
    }

    private static String loadAverage() throws IOException {
        return Files.readString(Path.of("/proc/loadavg")).trim();
    }
}
