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
import org.orpo4j.loss.ChunkedOrpoLoss;
import org.orpo4j.loss.OrpoLoss;
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
 * and the ratio orpo4j / PyTorch. Usage: {@code GpuStepBenchmark [--cases g,a] [--steps 10] [--warmup 2]
 * [--precisions fp32,bf16] [--paths plain,chunked] [--python python3] [--peak-tflops 989.4] [--no-torch]}.
 */
public final class GpuStepBenchmark {

    private static final String TORCH_SCRIPT = "src/test/python/bench/orpo_step_torch.py";

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
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: GpuStepBenchmark"
                        + " [--cases g,a] [--steps 10] [--warmup 2] [--precisions fp32,bf16] [--paths plain,chunked]"
                        + " [--python python3] [--peak-tflops 989.4] [--no-torch]");
            }
        }
        List<Map<String, String>> rows = new ArrayList<>();
        for (String name : cases) {
            OrpoStepBenchmark.Case c = OrpoStepBenchmark.CASES.get(name);
            for (String precision : precisions) {
                for (String path : paths) {
                    rows.add(printed(runJava(c, path, precision, warmup, steps)));
                }
                if (torch) {
                    rows.add(printed(runTorch(c, precision, warmup, steps, python)));
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

    private static Map<String, String> runTorch(OrpoStepBenchmark.Case c, String precision, int warmup, int steps,
            String python) throws Exception {
        List<String> cmd = List.of(python, TORCH_SCRIPT, "--vocab", "" + c.vocab(), "--hidden", "" + c.hidden(),
                "--layers", "" + c.layers(), "--heads", "" + c.heads(), "--kv-heads", "" + c.kvHeads(),
                "--intermediate", "" + c.intermediate(), "--pairs", "" + c.pairs(), "--length", "" + c.length(),
                "--steps", "" + steps, "--warmup", "" + warmup, "--threads", "4", "--flops", "" + c.stepFlops(),
                "--params", "" + c.parameters(), "--device", "cuda", "--dtype", precision);
        Map<String, String> r = ChildJvm.runCommand(cmd);
        r.put("impl", "torch");
        r.put("case", c.name());
        r.put("path", "plain");
        r.put("precision", precision);
        r.put("step_flops", "" + c.stepFlops());
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
        System.out.printf(Locale.ROOT, "%-4s %-7s %-5s %-8s %9s %9s %11s %7s %10s%n", "case", "impl", "prec", "path",
                "step_s", "min_s", "tok/s", "MFU%", "gpu_MiB");
        for (Map<String, String> r : rows) {
            double median = Double.parseDouble(r.get("step_median_s"));
            double flops = Double.parseDouble(r.getOrDefault("step_flops", "NaN"));
            System.out.printf(Locale.ROOT, "%-4s %-7s %-5s %-8s %9.4f %9s %11s %7.1f %10s%n", r.get("case"),
                    r.get("impl"), r.get("precision"), r.get("path"), median, r.get("step_min_s"),
                    r.get("tokens_per_s"), 100 * flops / median / peak,
                    r.getOrDefault("gpu_mib", r.get("gpu_peak_alloc_mb")));
        }
        System.out.println();
        for (Map<String, String> torch : rows) {
            if (!"torch".equals(torch.get("impl"))) {
                continue;
            }
            for (Map<String, String> ours : rows) {
                if ("orpo4j".equals(ours.get("impl")) && torch.get("case").equals(ours.get("case"))
                        && torch.get("precision").equals(ours.get("precision"))) {
                    System.out.printf(Locale.ROOT, "case %s %s: orpo4j %s / torch eager step time = %.3f%n",
                            ours.get("case"), ours.get("precision"), ours.get("path"),
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
                CausalLm lm = CausalLm.random(c.config(), root, 1);
                MasterWeights half = precision.mixed() ? MasterWeights.install(lm, precision) : null) {
            Map<String, NDArray> masters = half == null ? lm.parameters() : half.masters();
            try (AdamW adam = AdamW.of(masters, OrpoConfig.builder().build())) {
                OrpoLoss loss = OrpoLoss.builder().build();
                ChunkedOrpoLoss chunkedLoss = ChunkedOrpoLoss.of(loss);
                Gradients.zero(masters.values());
                long[][] batch = OrpoStepBenchmark.batch(c);
                NDArray probe = masters.get("model.norm.weight");
                double[] times = new double[steps];
                for (int s = 0; s < warmup + steps; s++) {
                    long t0 = System.nanoTime();
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
                            collector.backward(out.loss());
                        }
                    }
                    if (half != null) {
                        half.gradientsToMasters(1);
                    }
                    adam.step(1e-5);
                    if (half != null) {
                        half.copyMastersToHalves();
                    }
                    Gradients.zero(masters.values());
                    try (NDArray sum = probe.sum()) {
                        sum.getFloat(); // waits for the GPU to finish the step
                    }
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    System.out.printf(Locale.ROOT, "step %d: %.4f s%n", s, seconds);
                    if (s >= warmup) {
                        times[s - warmup] = seconds;
                    }
                }
                Arrays.sort(times);
                double median = times[steps / 2];
                System.out.printf(Locale.ROOT, "RESULT case=%s path=%s precision=%s step_median_s=%.4f"
                        + " step_min_s=%.4f tokens_per_s=%.1f step_flops=%.6e tokens=%d gpu_mib=%d"
                        + " fp32_matmul_tflops=%.1f half_matmul_tflops=%.1f device=%s%n", c.name(), path,
                        precision.name().toLowerCase(Locale.ROOT), median, times[0], c.tokens() / median,
                        c.stepFlops(), c.tokens(), NvidiaSmi.processMiB(), matmulTflops(root, DataType.FLOAT32),
                        precision.mixed() ? matmulTflops(root, precision.dtype()) : Double.NaN, device);
            }
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
