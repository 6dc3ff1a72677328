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
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.Settings;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * Hand-run benchmark (docs/benchmarks.md#against-pytorch-2x-and-trl): one ORPO training step of orpo4j's trainer
 * against PyTorch 2.x as people run it (src/test/python/bench/orpo_step_hf.py with the reference venv: transformers'
 * LlamaForCausalLM with TRL's loss and AdamW in eager mode, the same under torch.compile, and TRL's ORPOTrainer
 * itself), each configuration in its own process (its own peak RSS), 2 threads, one warm-up step, then the median.
 * Every run is float32 without gradient checkpointing. orpo4j paths: {@code two-rows} (TRL's padded layout),
 * {@code shared} (the shared-prompt layout, the default), {@code lora} (r 16, alpha 32, q_proj and v_proj, shared
 * prompt), {@code bf16} (bf16 mixed precision, only where the orpo4j JNI with bfloat16 is installed), and for the
 * memory case {@code defaults} (the trainer's defaults: shared prompt, gradient checkpointing); a path with the
 * suffix {@code +sdpa} ({@code shared+sdpa}) attends through torch's fused kernel, as the PyTorch rows do. The random model is
 * built through Java arrays; the child collects that garbage before training, so the peak is the training's. Usage:
 * {@code ReferenceBenchmark [--cases a,p,b,l] [--steps 3] [--threads 2] [--paths ...] [--torch eager,compile,trl]}.
 */
public final class ReferenceBenchmark {

    /** A shape: the model (OrpoStepBenchmark's cases) and per pair the prompt, chosen and rejected lengths. */
    record Shape(String name, String model, int pairs, int prompt, int chosen, int rejected) {
        OrpoStepBenchmark.Case modelCase() {
            return OrpoStepBenchmark.CASES.get(model);
        }
    }

    static final Map<String, Shape> SHAPES = new LinkedHashMap<>();

    static {
        // SmolLM2-135M at 2 pairs x 256 tokens (a 64-token prompt), as OrpoStepBenchmark's case a
        SHAPES.put("a", new Shape("a", "a", 2, 64, 192, 192));
        // SmolLM2-135M, prompt-heavy: 2 pairs of 384 + 128 + 128 tokens
        SHAPES.put("p", new Shape("p", "a", 2, 384, 128, 128));
        // long pairs, where attention's T² shows: SmolLM2-135M, 1 pair of 256 + 1792 + 1792 tokens (T = 2048)
        SHAPES.put("l", new Shape("l", "a", 1, 256, 1792, 1792));
        // the memory case: V 151936, 1 pair x 1024 tokens (a 256-token prompt), as OrpoStepBenchmark's case b
        SHAPES.put("b", new Shape("b", "b", 1, 256, 768, 768));
    }

    private static final String SCRIPT = "src/test/python/bench/orpo_step_hf.py";

    /** A path's suffix that trains it with {@code attnImplementation sdpa} ({@code shared+sdpa}, ...). */
    private static final String SDPA = "+sdpa";

    private ReferenceBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(SHAPES.get(args[1]), args[2], Integer.parseInt(args[3]));
            return;
        }
        List<String> cases = List.of("a", "p", "b");
        List<String> paths = List.of("two-rows", "shared", "lora", "bf16", "defaults");
        List<String> torchModes = List.of("eager", "compile", "trl");
        int steps = 3;
        int threads = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cases" -> cases = List.of(args[++i].split(","));
                case "--paths" -> paths = List.of(args[++i].split(","));
                case "--torch" -> torchModes = args[++i].isEmpty() ? List.of() : List.of(args[i].split(","));
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: ReferenceBenchmark"
                        + " [--cases a,p,b,l] [--paths two-rows,shared,lora,bf16,shared+sdpa] [--torch eager,compile,trl]"
                        + " [--steps 3] [--threads 2]");
            }
        }
        System.out.printf(Locale.ROOT, "load average %s; threads %d, %d timed steps after 1 warm-up%n",
                Files.readString(Path.of("/proc/loadavg")).trim(), threads, steps);
        List<Map<String, String>> rows = new ArrayList<>();
        for (String name : cases) {
            Shape s = SHAPES.get(name);
            // the memory case compares with eager only: compiling and TRL add nothing to what it measures
            for (String mode : name.equals("b") ? torchModes.stream().filter("eager"::equals).toList() : torchModes) {
                rows.add(torch(s, mode, steps, threads));
            }
            for (String path : paths) {
                String base = path.replace(SDPA, "");
                if (base.equals("bf16") && !NativeFeatures.bfloat16()) {
                    System.out.println("case " + name + ": bf16 skipped: DJL's JNI here has no bfloat16 (docs/gpu.md)");
                    continue;
                }
                // the memory case runs two-rows, shared and defaults; the speed cases every path but defaults
                boolean memoryPath = base.equals("two-rows") || base.equals("shared") || base.equals("defaults");
                if (name.equals("b") ? !memoryPath : base.equals("defaults")) {
                    continue;
                }
                Map<String, String> r = ChildJvm.run(ReferenceBenchmark.class, threads, Map.of(), "child", name, path,
                        Integer.toString(steps));
                r.put("impl", "orpo4j");
                rows.add(r);
            }
        }
        report(rows);
    }

    private static Map<String, String> torch(Shape s, String mode, int steps, int threads) throws Exception {
        OrpoStepBenchmark.Case c = s.modelCase();
        String venv = System.getenv().getOrDefault("ORPO4J_REF_VENV", "/work/venv-ref");
        List<String> cmd = new ArrayList<>(List.of(venv + "/bin/python", SCRIPT, "--mode", mode,
                "--vocab", "" + c.vocab(), "--hidden", "" + c.hidden(), "--layers", "" + c.layers(),
                "--heads", "" + c.heads(), "--kv-heads", "" + c.kvHeads(), "--intermediate", "" + c.intermediate(),
                "--pairs", "" + s.pairs(), "--prompt", "" + s.prompt(), "--chosen", "" + s.chosen(),
                "--rejected", "" + s.rejected(), "--steps", "" + steps, "--threads", "" + threads));
        Map<String, String> result = new LinkedHashMap<>(ChildJvm.runCommand(cmd));
        result.put("case", s.name());
        return result;
    }

    private static void report(List<Map<String, String>> rows) {
        System.out.printf(Locale.ROOT, "%n%-4s %-7s %-9s %9s %9s %9s %11s%n", "case", "impl", "path", "step_s",
                "min_s", "tok/s", "peakRSS_MB");
        for (Map<String, String> r : rows) {
            System.out.printf(Locale.ROOT, "%-4s %-7s %-9s %9s %9s %9s %11s%n", r.get("case"), r.get("impl"),
                    r.get("path"), r.get("step_median_s"), r.get("step_min_s"), r.get("tokens_per_s"),
                    r.get("peak_rss_mb"));
        }
        System.out.println();
        for (Map<String, String> r : rows) {
            Map<String, String> eager = rows.stream().filter(e -> e.get("case").equals(r.get("case"))
                    && "torch".equals(e.get("impl")) && "eager".equals(e.get("path"))).findFirst().orElse(null);
            if (eager != null && r != eager) {
                System.out.printf(Locale.ROOT, "case %s: %s %s / torch eager: step time %.3f, peak RSS %.3f%n",
                        r.get("case"), r.get("impl"), r.get("path"), value(r, "step_median_s") / value(eager,
                                "step_median_s"), value(r, "peak_rss_mb") / value(eager, "peak_rss_mb"));
            }
        }
    }

    private static double value(Map<String, String> r, String key) {
        return Double.parseDouble(r.get(key));
    }

    /** One orpo4j configuration: the trainer for 1 + steps optimizer steps of the same micro-batch, timed. */
    private static void child(Shape s, String pathName, int steps) throws Exception {
        String path = pathName.replace(SDPA, "");
        OrpoStepBenchmark.Case c = s.modelCase();
        Random random = new Random(7);
        List<TokenizedPair> pairs = new ArrayList<>();
        for (int k = 0; k < s.pairs(); k++) {
            pairs.add(new TokenizedPair(tokens(random, s.prompt(), c.vocab()), tokens(random, s.chosen(), c.vocab()),
                    tokens(random, s.rejected(), c.vocab()), 0));
        }
        List<TokenizedPair> data = new ArrayList<>();
        for (int step = 0; step <= steps; step++) {
            data.addAll(pairs);
        }
        Path out = Files.createTempDirectory("orpo4j-reference-bench");
        OrpoConfig config = OrpoConfig.builder().perDeviceTrainBatchSize(s.pairs()).maxSteps(steps + 1)
                .learningRate(1e-5).shuffle(false).groupByLength(false).loggingSteps(1).saveStrategy("no")
                .outputDir(out.toString()).gradientCheckpointing(path.equals("defaults"))
                .sharedPrompt(!path.equals("two-rows"))
                .bf16(path.equals("bf16"))
                .set(Settings.ATTN_IMPLEMENTATION, pathName.endsWith(SDPA) ? AttnImplementation.SDPA : null).build();
        double[] times = new double[steps + 1];
        long[] state = new long[1];
        try (NDManager root = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.random(c.config(), root, 1)) {
            if (path.equals("lora")) {
                LoraModel.attach(lm, new LoraConfig(16, 32, 0.0, List.of("q_proj", "v_proj"), false, null), 1);
            }
            System.gc(); // the random model's Java arrays and direct buffers: not the training's memory
            OrpoTrainer trainer = new OrpoTrainer(lm, config);
            trainer.addListener(new TrainerListener() {
                private long last;

                @Override
                public void onTrainBegin(TrainerState st, TrainerControl control) {
                    last = System.nanoTime();
                    try {
                        state[0] = ChildJvm.status("VmRSS");
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }

                @Override
                public void onStep(TrainerState st, TrainerControl control) {
                    long now = System.nanoTime();
                    int k = (int) st.globalStep() - 1;
                    times[k] = (now - last) / 1e9;
                    last = now;
                    try {
                        System.out.printf(Locale.ROOT, "step %d: %.3f s; VmHWM %d MB%n", k, times[k],
                                ChildJvm.status("VmHWM"));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
            trainer.train(PairSource.of(PreferenceDataset.of(data, 0)), null);
        }
        double[] timed = Arrays.copyOfRange(times, 1, times.length);
        Arrays.sort(timed);
        long tokens = 2L * s.pairs() * (s.prompt() + Math.max(s.chosen(), s.rejected()));
        System.out.printf(Locale.ROOT, "RESULT case=%s path=%s step_median_s=%.3f step_min_s=%.3f tokens_per_s=%.1f"
                + " peak_rss_mb=%d state_mb=%d%n", s.name(), pathName, timed[timed.length / 2], timed[0],
                tokens / timed[timed.length / 2], ChildJvm.status("VmHWM"), state[0]);
    }

    private static long[] tokens(Random random, int n, int vocab) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 1 + random.nextInt(vocab - 1);
        }
        return ids;
    }
}
