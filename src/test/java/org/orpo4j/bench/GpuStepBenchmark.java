package org.orpo4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.OrpoLoss;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.orpo4j.precision.MasterWeights;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.AdamW;
import org.orpo4j.train.Gradients;
import org.orpo4j.train.OrpoConfig;

/**
 * Hand-run GPU benchmark (not a test, not in CI; docs/gpu.md runs it on a lent GPU): one full ORPO training step —
 * forward, loss, backward, AdamW — of a SmolLM2-135M-shaped model on the GPU, orpo4j and PyTorch eager
 * ({@code src/test/python/bench/orpo_step_torch.py}) side by side, each configuration in its own process. Float32
 * on both sides; bf16/fp16 as each side's users run it: orpo4j with float32 master weights behind half-precision
 * copies, PyTorch under {@code torch.autocast} (HF Trainer's bf16/fp16). Reports the median step time after the
 * warm-up steps, tokens/s, MFU against the chip's dense bf16 peak ({@code --peak-tflops}, 989.4 for an H200 SXM)
 * and the ratio orpo4j / PyTorch. The path {@code lora} trains PEFT's common LoRA (r 16, alpha 32, q_proj and
 * v_proj, no dropout) over a frozen base, stored in bf16 under bf16 on both sides; {@code sdpa} the plain step with
 * attention through torch's fused {@code scaled_dot_product_attention} on both sides; {@code --torch-compile} adds
 * PyTorch rows with the forward and loss under {@code torch.compile}. Usage: {@code GpuStepBenchmark [--cases g,a]
 * [--steps 10] [--warmup 2] [--precisions fp32,bf16] [--paths plain,chunked,lora,sdpa]
 * [--python python3] [--peak-tflops 989.4] [--no-torch] [--torch-compile]}.
 */
public final class GpuStepBenchmark {

    private static final String TORCH_SCRIPT = "src/test/python/bench/orpo_step_torch.py";
    private static final int LORA_R = 16;

    static {
        // SmolLM2-135M shapes at 8 pairs x 1024 tokens: enough work per step to keep the GPU busy
        OrpoStepBenchmark.CASES.put("g", new OrpoStepBenchmark.Case("g", 49152, 576, 30, 9, 3, 1536, 8, 1024));
        // Qwen2.5-1.5B's shapes (llama blocks: no q/k/v biases) at 4 pairs x 1024 tokens, full fine-tuning
        OrpoStepBenchmark.CASES.put("q", new OrpoStepBenchmark.Case("q", 151936, 1536, 28, 12, 2, 8960, 4, 1024));
    }

    private GpuStepBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(OrpoStepBenchmark.CASES.get(args[1]), args[2], Precision.valueOf(args[3]),
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]));
            return;
        }
        List<String> cases = List.of("g");
        List<String> precisions = List.of("fp32", "bf16");
        List<String> paths = List.of("plain", "chunked");
        int steps = 10;
        int warmup = 2;
        String python = "python3";
        double peakTflops = 989.4;
        boolean torch = true;
        boolean compile = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cases" -> cases = List.of(args[++i].split(","));
                case "--precisions" -> precisions = List.of(args[++i].split(","));
                case "--paths" -> paths = List.of(args[++i].split(","));
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--python" -> python = args[++i];
                case "--peak-tflops" -> peakTflops = Double.parseDouble(args[++i]);
                case "--no-torch" -> torch = false;
                case "--torch-compile" -> compile = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: GpuStepBenchmark"
                        + " [--cases g,a] [--steps 10] [--warmup 2] [--precisions fp32,bf16]"
                        + " [--paths plain,chunked,lora,sdpa] [--python python3] [--peak-tflops 989.4] [--no-torch]"
                        + " [--torch-compile]");
            }
        }
        List<Map<String, String>> rows = new ArrayList<>();
        for (String name : cases) {
            OrpoStepBenchmark.Case c = OrpoStepBenchmark.CASES.get(name);
            for (String precision : precisions) {
                for (String path : paths) {
                    rows.add(printed(runJava(c, path, precision, warmup, steps)));
                }
                if (!torch) {
                    continue;
                }
                for (String torchPath : paths.stream().map(GpuStepBenchmark::torchPath).distinct().toList()) {
                    rows.add(printed(runTorch(c, precision, torchPath, false, warmup, steps, python)));
                    if (compile) {
                        rows.add(printed(runTorch(c, precision, torchPath, true, warmup, steps, python)));
                    }
                }
            }
        }
        report(rows, peakTflops * 1e12);
    }

    private static Map<String, String> runJava(OrpoStepBenchmark.Case c, String path, String precision, int warmup,
            int steps) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx4g", "-Dai.djl.offline=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                GpuStepBenchmark.class.getName(), "child", c.name(), path,
                Precision.valueOf(precision.toUpperCase(Locale.ROOT)).name(), Integer.toString(warmup),
                Integer.toString(steps));
        Map<String, String> r = ChildJvm.runCommand(cmd);
        r.put("impl", "orpo4j");
        return r;
    }

    /**
     * The PyTorch run an orpo4j path is compared with: its LoRA run for {@code lora}, its fused-attention run for
     * {@code sdpa}, else the plain step.
     */
    private static String torchPath(String path) {
        return path.equals("lora") || path.equals("sdpa") ? path : "plain";
    }

    /**
     * Model FLOPs of one step: a LoRA step computes no weight gradients of the frozen base, so it is the forward and
     * the input-gradient pass, 2/3 of a full step (the rank-16 adapters' own matmuls are not counted).
     */
    private static double stepFlops(OrpoStepBenchmark.Case c, String path) {
        return path.equals("lora") ? c.stepFlops() * 2 / 3 : c.stepFlops();
    }

    private static Map<String, String> runTorch(OrpoStepBenchmark.Case c, String precision, String path,
            boolean compile, int warmup, int steps, String python) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(python, TORCH_SCRIPT, "--vocab", "" + c.vocab(), "--hidden",
                "" + c.hidden(), "--layers", "" + c.layers(), "--heads", "" + c.heads(), "--kv-heads", "" + c.kvHeads(),
                "--intermediate", "" + c.intermediate(), "--pairs", "" + c.pairs(), "--length", "" + c.length(),
                "--steps", "" + steps, "--warmup", "" + warmup, "--threads", "4", "--flops", "" + stepFlops(c, path),
                "--params", "" + c.parameters(), "--device", "cuda", "--dtype", precision));
        if (path.equals("lora")) {
            cmd.addAll(List.of("--lora-r", "" + LORA_R));
        }
        if (path.equals("sdpa")) {
            cmd.add("--sdpa");
        }
        if (compile) {
            cmd.add("--compile");
        }
        Map<String, String> r = ChildJvm.runCommand(cmd);
        r.put("impl", compile ? "torch.compile" : "torch");
        r.put("case", c.name());
        r.put("path", path);
        r.put("precision", precision);
        r.put("step_flops", "" + stepFlops(c, path));
        r.put("tokens", "" + c.tokens());
        return r;
    }


    /** Each row as it comes: a run cut short by its time limit still reports the rows it finished. */
    private static Map<String, String> printed(Map<String, String> row) {
        System.out.println("row " + row);
        return row;
    }

    private static void report(List<Map<String, String>> rows, double peak) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-4s %-13s %-5s %-8s %9s %9s %11s %7s %10s%n", "case", "impl", "prec", "path",
                "step_s", "min_s", "tok/s", "MFU%", "gpu_MiB");
        for (Map<String, String> r : rows) {
            double median = Double.parseDouble(r.get("step_median_s"));
            double flops = Double.parseDouble(r.getOrDefault("step_flops", "NaN"));
            System.out.printf(Locale.ROOT, "%-4s %-13s %-5s %-8s %9.4f %9s %11s %7.1f %10s%n", r.get("case"),
                    r.get("impl"), r.get("precision"), r.get("path"), median, r.get("step_min_s"),
                    r.get("tokens_per_s"), 100 * flops / median / peak,
                    r.getOrDefault("gpu_mib", r.get("gpu_peak_alloc_mb")));
        }
        System.out.println();
        for (Map<String, String> torch : rows) {
            if (!torch.get("impl").startsWith("torch")) {
                continue;
            }
            for (Map<String, String> ours : rows) {
                if ("orpo4j".equals(ours.get("impl")) && torch.get("case").equals(ours.get("case"))
                        && torch.get("precision").equals(ours.get("precision"))
                        && torch.get("path").equals(torchPath(ours.get("path")))) {
                    System.out.printf(Locale.ROOT, "case %s %s: orpo4j %s / %s step time = %.3f%n",
                            ours.get("case"), ours.get("precision"), ours.get("path"),
                            torch.get("impl").equals("torch") ? "torch eager" : torch.get("impl"),
                            Double.parseDouble(ours.get("step_median_s"))
                                    / Double.parseDouble(torch.get("step_median_s")));
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------- child

    private static void child(OrpoStepBenchmark.Case c, String path, Precision precision, int warmup, int steps) {
        boolean chunked = path.equals("chunked");
        Device device = DjlRuntime.defaultDevice(); // the CPU only to try the harness out
        try (NDManager root = DjlRuntime.newManager(device);
                CausalLm lm = CausalLm.random(c.config(), root, 1)) {
            boolean adapters = path.equals("lora");
            if (path.equals("sdpa")) {
                lm.attnImplementation(AttnImplementation.SDPA);
            }
            if (adapters) {
                LoraModel.attach(lm, new LoraConfig(LORA_R, 2 * LORA_R, 0.0, List.of("q_proj", "v_proj"), false,
                        null), 1);
            }
            // as the trainer does: a LoRA run's frozen base is stored in bf16 outright, its adapters stay float32
            try (MasterWeights half = precision.mixed()
                    ? MasterWeights.install(lm, precision, precision == Precision.BF16 && adapters) : null) {
                Map<String, NDArray> trained = half == null || adapters ? lm.trainableParameters() : half.masters();
                steps(root, lm, half, trained, c, path, chunked, precision, warmup, steps);
            }
        }
    }

    private static void steps(NDManager root, CausalLm lm, MasterWeights half, Map<String, NDArray> trained,
            OrpoStepBenchmark.Case c, String path, boolean chunked, Precision precision, int warmup, int steps) {
        try (AdamW adam = AdamW.of(trained, OrpoConfig.builder().build())) {
            OrpoLoss loss = OrpoLoss.builder().build();
            ChunkedOrpoLoss chunkedLoss = ChunkedOrpoLoss.of(loss);
            Gradients.zero(trained.values());
            long[][] batch = OrpoStepBenchmark.batch(c);
            NDArray probe = trained.values().iterator().next();
            double[] times = new double[steps];
            for (int s = 0; s < warmup + steps; s++) {
                long t0 = System.nanoTime();
                long t1;
                long t2;
                try (NDManager step = root.newSubManager()) {
                    NDList arrays = OrpoStepBenchmark.arrays(c, batch, step); // ids, mask, labels [2B, T]
                    NDArray ids = arrays.get(0);
                    NDArray mask = arrays.get(1);
                    NDArray labels = arrays.get(2);
                    try (GradientCollector collector = root.getEngine().newGradientCollector()) {
                        OrpoLoss.Output out = chunked
                                ? chunkedLoss.compute(lm.hiddenStates(ids, mask), lm.lmHeadWeight(), ids, mask,
                                        labels)
                                : loss.compute(lm.forward(ids, mask), ids, mask, labels);
                        out.loss().getFloat(); // waits for the forward, as the PyTorch side's synchronize
                        t1 = System.nanoTime();
                        collector.backward(out.loss());
                        waitFor(probe);
                        t2 = System.nanoTime();
                    }
                }
                if (half != null) {
                    half.gradientsToMasters(1);
                }
                adam.step(1e-5);
                if (half != null) {
                    half.copyMastersToHalves();
                }
                Gradients.zero(trained.values());
                waitFor(probe);
                long t3 = System.nanoTime();
                System.out.printf(Locale.ROOT, "step %d: total %.4f s (forward+loss %.4f, backward %.4f, adamw %.4f)%n",
                        s, (t3 - t0) / 1e9, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
                if (s >= warmup) {
                    times[s - warmup] = (t3 - t0) / 1e9;
                }
            }
            Arrays.sort(times);
            double median = times[steps / 2];
            System.out.printf(Locale.ROOT, "RESULT case=%s path=%s precision=%s step_median_s=%.4f"
                    + " step_min_s=%.4f tokens_per_s=%.1f step_flops=%.6e tokens=%d gpu_mib=%d"
                    + " fp32_matmul_tflops=%.1f half_matmul_tflops=%.1f device=%s%n", c.name(), path,
                    precision.name().toLowerCase(Locale.ROOT), median, times[0], c.tokens() / median,
                    stepFlops(c, path), c.tokens(), NvidiaSmi.processMiB(), matmulTflops(root, DataType.FLOAT32),
                    precision.mixed() ? matmulTflops(root, precision.dtype()) : Double.NaN, root.getDevice());
        }
    }

    /** Blocks until the device has finished the work queued so far (a read of one value of {@code probe}). */
    private static void waitFor(NDArray probe) {
        try (NDArray sum = probe.sum()) {
            sum.getFloat();
        }
    }

    /** Best of 5 (after a warm-up) of an 8192³ matmul (512³ on a CPU) in {@code dtype}, in TFLOP/s. */
    private static double matmulTflops(NDManager root, DataType dtype) {
        int n = root.getDevice().isGpu() ? 8192 : 512;
        try (NDManager m = root.newSubManager()) {
            NDArray a = m.randomNormal(new Shape(n, n)).toType(dtype, false);
            NDArray b = m.randomNormal(new Shape(n, n)).toType(dtype, false);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 6; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = a.matMul(b); NDArray corner = c.get(0, 0).toType(DataType.FLOAT32, false)) {
                    corner.getFloat(); // waits for the product
                }
                if (i > 0) {
                    best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                }
            }
            return 2.0 * n * n * n / best / 1e12;
        }
    }
}
