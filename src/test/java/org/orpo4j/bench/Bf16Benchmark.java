package org.orpo4j.bench;

import ai.djl.ndarray.NDManager;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
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
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * Hand-run benchmark of bf16 on the CPU (docs/benchmarks.md#bf16-on-the-cpu), not a test: the trainer's own step on
 * the SmolLM2-135M shape at 2 pairs × 256 tokens (prompt 64, answers 192), {@code --bf16} against float32, and
 * PyTorch eager ({@code src/test/python/bench/orpo_step_torch.py}) under {@code torch.autocast("cpu", bfloat16)} and
 * in float32, each in its own process on the same number of threads, one after the other in one run. Both sides do
 * the same work: two rows per pair (TRL's layout, {@code sharedPrompt} off) and every activation kept (no gradient
 * checkpointing); orpo4j's loss path is its default (chunked at this size). With {@code --rounds N} the four processes
 * run round-robin N times, so that on a machine shared with other jobs each meets the same mix of quiet and busy
 * spells. Reports, over every timed step (one warm-up step per process is left out), the median and the fastest step
 * time, the median process CPU time per step, peak RSS (VmHWM) and the ratios. Usage: {@code Bf16Benchmark [--steps 5] [--threads 2]
 * [--rounds 1] [--python /path/to/venv/bin/python] [--runs orpo4j-bf16,orpo4j-fp32,torch-bf16,torch-fp32]
 * [--trainer-defaults] [--case a]};
 * the Python needs torch 2.7.1 (the libtorch DJL ships). {@code --trainer-defaults} runs orpo4j with the shared
 * prompt and gradient checkpointing, as {@code train} does by default.
 */
public final class Bf16Benchmark {

    private static final String TORCH_SCRIPT = "src/test/python/bench/orpo_step_torch.py";
    private static OrpoStepBenchmark.Case shape = OrpoStepBenchmark.CASES.get("a"); // SmolLM2-135M, 2 × 256

    private Bf16Benchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            shape = OrpoStepBenchmark.CASES.get(args[4]);
            child(Boolean.parseBoolean(args[1]), Boolean.parseBoolean(args[2]), Integer.parseInt(args[3]));
            return;
        }
        int steps = 5;
        int threads = 2;
        int rounds = 1;
        String python = "python3";
        List<String> runs = List.of("orpo4j-bf16", "orpo4j-fp32", "torch-bf16", "torch-fp32");
        boolean trainerDefaults = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--python" -> python = args[++i];
                case "--runs" -> runs = List.of(args[++i].split(","));
                case "--trainer-defaults" -> trainerDefaults = true;
                case "--case" -> shape = OrpoStepBenchmark.CASES.get(args[++i]); // a4: a quick look at case a
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: Bf16Benchmark"
                        + " [--steps 5] [--rounds 1] [--threads 2] [--python PYTHON] [--runs orpo4j-bf16,orpo4j-fp32,"
                        + "torch-bf16,torch-fp32] [--trainer-defaults] [--case a]");
            }
        }
        System.out.printf(Locale.ROOT, "machine: %s, %d cores visible, bf16 instructions: %s; load average %s;"
                + " threads %d, steps %d, rounds %d%n", cpuModel(), Runtime.getRuntime().availableProcessors(),
                cpuBf16(), Files.readString(Path.of("/proc/loadavg")).strip(), threads, steps, rounds);
        // round-robin: on a machine shared with other jobs, each configuration meets the same mix of quiet and busy
        Map<String, List<Double>> stepTimes = new LinkedHashMap<>();
        Map<String, List<Double>> cpuTimes = new LinkedHashMap<>();
        Map<String, Map<String, String>> last = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (String run : runs) {
                System.out.printf(Locale.ROOT, "round %d: %s (load average %s)%n", round, run,
                        Files.readString(Path.of("/proc/loadavg")).strip());
                boolean bf16 = run.endsWith("bf16");
                Map<String, String> r = run.startsWith("orpo4j")
                        ? ChildJvm.run(Bf16Benchmark.class, threads, Map.of(), "child", Boolean.toString(bf16),
                                Boolean.toString(trainerDefaults), Integer.toString(steps), shape.name())
                        : torch(python, bf16, steps, threads);
                stepTimes.computeIfAbsent(run, k -> new ArrayList<>()).addAll(numbers(r.get("step_times_s")));
                cpuTimes.computeIfAbsent(run, k -> new ArrayList<>()).addAll(numbers(r.get("cpu_times_s")));
                Map<String, String> previous = last.get(run);
                if (previous != null) { // the peak RSS of the worst round
                    r.put("peak_rss_mb", "" + (long) Math.max(value(r, "peak_rss_mb"), value(previous, "peak_rss_mb")));
                }
                last.put(run, r);
            }
        }
        Map<String, Map<String, String>> results = new LinkedHashMap<>();
        last.forEach((run, r) -> {
            Map<String, String> row = new LinkedHashMap<>();
            row.put("what", r.get("what"));
            row.put("step_median_s", format(median(stepTimes.get(run))));
            row.put("step_min_s", format(stepTimes.get(run).stream().mapToDouble(Double::doubleValue).min().orElse(0)));
            row.put("cpu_median_s", format(median(cpuTimes.get(run))));
            row.put("tokens_per_s", format(shape.tokens() / median(stepTimes.get(run))));
            row.put("peak_rss_mb", r.get("peak_rss_mb"));
            results.put(run, row);
        });
        System.out.printf(Locale.ROOT, "%ncase %s (%d layers, %d pairs x %d tokens), %d threads, %d round(s) of %d steps"
                + " after 1 warm-up each%s:%n", shape.name(), shape.layers(), shape.pairs(), shape.length(), threads,
                rounds, steps, trainerDefaults ? " (orpo4j: shared prompt, checkpointing)" : "");
        System.out.printf(Locale.ROOT, "%-12s %-22s %9s %9s %9s %9s %11s%n", "run", "what", "median_s", "min_s",
                "cpu_s", "tok/s", "peakRSS_MB");
        results.forEach((run, r) -> System.out.printf(Locale.ROOT, "%-12s %-22s %9s %9s %9s %9s %11s%n", run,
                r.get("what"), r.get("step_median_s"), r.get("step_min_s"), r.get("cpu_median_s"),
                r.get("tokens_per_s"), r.get("peak_rss_mb")));
        ratio(results, "orpo4j-bf16", "orpo4j-fp32");
        ratio(results, "orpo4j-bf16", "torch-bf16");
        ratio(results, "orpo4j-fp32", "torch-fp32");
        ratio(results, "torch-bf16", "torch-fp32");
    }

    private static List<Double> numbers(String csv) {
        List<Double> out = new ArrayList<>();
        for (String x : csv.split(",")) {
            out.add(Double.parseDouble(x));
        }
        return out;
    }

    private static double median(List<Double> xs) {
        double[] sorted = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String format(double x) {
        return String.format(Locale.ROOT, "%.3f", x);
    }

    private static void ratio(Map<String, Map<String, String>> results, String a, String b) {
        if (results.containsKey(a) && results.containsKey(b)) {
            System.out.printf(Locale.ROOT, "%s / %s: step time %.3f (median), %.3f (fastest step), CPU time %.3f;"
                    + " peak RSS %.3f%n", a, b,
                    value(results.get(a), "step_median_s") / value(results.get(b), "step_median_s"),
                    value(results.get(a), "step_min_s") / value(results.get(b), "step_min_s"),
                    value(results.get(a), "cpu_median_s") / value(results.get(b), "cpu_median_s"),
                    value(results.get(a), "peak_rss_mb") / value(results.get(b), "peak_rss_mb"));
        }
    }

    private static double value(Map<String, String> r, String key) {
        return Double.parseDouble(r.get(key));
    }

    /** PyTorch eager, float32 or under autocast(bfloat16), in its own process. */
    private static Map<String, String> torch(String python, boolean bf16, int steps, int threads) throws Exception {
        OrpoStepBenchmark.Case c = shape;
        List<String> cmd = List.of(python, TORCH_SCRIPT, "--vocab", "" + c.vocab(), "--hidden", "" + c.hidden(),
                "--layers", "" + c.layers(), "--heads", "" + c.heads(), "--kv-heads", "" + c.kvHeads(),
                "--intermediate", "" + c.intermediate(), "--pairs", "" + c.pairs(), "--length", "" + c.length(),
                "--steps", "" + steps, "--threads", "" + threads, "--flops", "" + c.stepFlops(),
                "--params", "" + c.parameters(), "--dtype", bf16 ? "bf16" : "fp32");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Map<String, String> result = new LinkedHashMap<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("RESULT ")) {
                    for (String kv : line.substring(7).trim().split(" ")) {
                        result.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                    }
                }
                System.out.println("  | " + line);
            }
        }
        if (p.waitFor() != 0 || result.isEmpty()) {
            throw new IllegalStateException("torch child failed: " + String.join(" ", cmd));
        }
        result.put("what", "torch " + result.get("torch").replaceAll("\\+.*", "") + (bf16 ? " autocast" : " float32"));
        return result;
    }

    /** orpo4j: the trainer, 1 + steps optimizer steps of one micro-batch (2 pairs), timed by a listener. */
    private static void child(boolean bf16, boolean trainerDefaults, int steps) throws Exception {
        if (bf16 && !NativeFeatures.bfloat16()) {
            throw new IllegalStateException(NativeFeatures.bfloat16Missing());
        }
        OrpoStepBenchmark.Case c = shape;
        int prompt = c.length() / 4;
        Random random = new Random(7);
        List<TokenizedPair> pairs = new ArrayList<>();
        for (int i = 0; i < (steps + 1) * c.pairs(); i++) {
            pairs.add(new TokenizedPair(tokens(random, prompt, c.vocab()), tokens(random, c.length() - prompt,
                    c.vocab()), tokens(random, c.length() - prompt, c.vocab()), 0));
        }
        Path out = Files.createTempDirectory("orpo4j-bf16-bench");
        OrpoConfig config = OrpoConfig.builder().perDeviceTrainBatchSize(c.pairs()).maxSteps(steps + 1)
                .learningRate(1e-5).shuffle(false).groupByLength(false).loggingSteps(1).saveStrategy("no")
                .outputDir(out.toString()).bf16(bf16).sharedPrompt(trainerDefaults)
                .gradientCheckpointing(trainerDefaults).build();
        double[] times = new double[steps + 1];
        double[] cpu = new double[steps + 1]; // process CPU time: what a step cost when other processes share the cores
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(c.config(), root, 1)) {
            OrpoTrainer trainer = new OrpoTrainer(lm, config);
            trainer.addListener(new TrainerListener() {
                private long last;
                private long lastCpu;

                @Override
                public void onTrainBegin(TrainerState state, TrainerControl control) {
                    last = System.nanoTime();
                    lastCpu = os.getProcessCpuTime();
                }

                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    long now = System.nanoTime();
                    long nowCpu = os.getProcessCpuTime();
                    int k = (int) state.globalStep() - 1;
                    times[k] = (now - last) / 1e9;
                    cpu[k] = (nowCpu - lastCpu) / 1e9;
                    last = now;
                    lastCpu = nowCpu;
                    System.out.printf(Locale.ROOT, "step %d: %.3f s (CPU time %.3f s)%n", k, times[k], cpu[k]);
                }
            });
            trainer.train(PairSource.of(PreferenceDataset.of(pairs, 0)), null);
        }
        double[] timed = Arrays.copyOfRange(times, 1, times.length);
        Arrays.sort(timed);
        double median = timed[timed.length / 2];
        double[] cpuTimed = Arrays.copyOfRange(cpu, 1, cpu.length);
        Arrays.sort(cpuTimed);
        System.out.printf(Locale.ROOT, "RESULT what=orpo4j_%s step_median_s=%.3f step_min_s=%.3f tokens_per_s=%.1f"
                + " peak_rss_mb=%d cpu_median_s=%.3f step_times_s=%s cpu_times_s=%s%n", bf16 ? "bf16" : "float32",
                median, timed[0], c.tokens() / median, ChildJvm.status("VmHWM"), cpuTimed[cpuTimed.length / 2],
                csv(Arrays.copyOfRange(times, 1, times.length)), csv(Arrays.copyOfRange(cpu, 1, cpu.length)));
    }

    private static String csv(double[] xs) {
        return String.join(",", Arrays.stream(xs).mapToObj(Bf16Benchmark::format).toList());
    }

    private static long[] tokens(Random random, int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 1 + random.nextInt(vocab - 1);
        }
        return ids;
    }

    private static String cpuModel() throws java.io.IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
    }

    private static String cpuBf16() throws java.io.IOException {
        String flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("flags"))
                .findFirst().orElse("");
        List<String> found = new ArrayList<>();
        for (String f : List.of("avx512_bf16", "amx_bf16")) {
            if ((" " + flags + " ").contains(" " + f + " ")) {
                found.add(f);
            }
        }
        return found.isEmpty() ? "none" : String.join(", ", found);
    }
}
