package org.orpo4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.data.TokenizedPair;
import org.orpo4j.distributed.Distributed;
import org.orpo4j.distributed.RankEnv;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.DataParallel;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * Hand-run data-parallel benchmark (docs/benchmarks.md#data-parallel-training): the same global batch of 4 pairs ×
 * 192 tokens on a 4-layer llama (hidden 512, 13.7 M parameters), one process on 2 torch threads against 2 Gloo ranks
 * on 1 thread each, side by side in one run: median step time, and per step the gradient all-reduce's time (one
 * flat bucket). Usage: {@code DataParallelBenchmark [--steps 8]}.
 */
public final class DataParallelBenchmark {

    private DataParallelBenchmark() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("child")) {
            child(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Path.of(args[3]));
            return;
        }
        int steps = args.length > 1 && args[0].equals("--steps") ? Integer.parseInt(args[1]) : 8;
        Path tmp = Files.createTempDirectory("orpo4j-ddp-bench");
        Map<String, String> one = ChildJvm.run(DataParallelBenchmark.class, 2, Map.of(), "child", "4",
                Integer.toString(steps), tmp.resolve("one").toString());
        Map<String, String> two = ranks(steps, tmp.resolve("two"));
        double a = Double.parseDouble(one.get("step_ms"));
        double b = Double.parseDouble(two.get("step_ms"));
        System.out.printf(Locale.ROOT, "1 rank x 2 threads: %.0f ms/step | 2 ranks x 1 thread: %.0f ms/step"
                + " (all-reduce %.1f ms/step, %s MB) | ratio %.3f%n", a, b, Double.parseDouble(two.get(
                        "allreduce_ms")), two.get("bucket_mb"), b / a);
    }

    /** Two ranks on this host (torchrun's variables), each on one thread; rank 0's RESULT line. */
    private static Map<String, String> ranks(int steps, Path out) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<Process> ps = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
                    "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                    DataParallelBenchmark.class.getName(), "child", "2", Integer.toString(steps), out.toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(new RankEnv(r, r, 2, 2, "127.0.0.1", port).variables());
            ps.add(pb.start());
        }
        Map<String, String> result = new java.util.LinkedHashMap<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(ps.get(0).getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                System.out.println("  | " + line);
                if (line.startsWith("RESULT ")) {
                    for (String kv : line.substring(7).trim().split(" ")) {
                        result.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                    }
                }
            }
        }
        for (Process p : ps) {
            if (p.waitFor() != 0) {
                throw new IllegalStateException("a rank failed (exit " + p.exitValue() + ")");
            }
        }
        return result;
    }

    /** One run: {@code batch} pairs per rank, the step times after the first, the all-reduce timed around. */
    private static void child(int batch, int steps, Path out) throws Exception {
        Optional<Distributed> ranks = Distributed.fromEnvironment("auto", Duration.ofMinutes(5));
        Timed timed = new Timed(ranks.<DataParallel>map(d -> d).orElse(DataParallel.SINGLE));
        List<Long> stepNanos = new ArrayList<>();
        OrpoConfig config = OrpoConfig.builder().perDeviceTrainBatchSize(batch).maxSteps(steps + 1)
                .learningRate(1e-4).shuffle(false).groupByLength(false).loggingSteps(1000).saveStrategy("no")
                .outputDir(out.toString()).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.random(ModelConfig.builder("llama").vocabSize(2048).hiddenSize(512)
                        .intermediateSize(1376).numHiddenLayers(4).numAttentionHeads(8).numKeyValueHeads(4)
                        .padTokenId(0).build(), manager, 1)) {
            long[] last = {System.nanoTime()};
            OrpoTrainer trainer = new OrpoTrainer(model, config).dataParallel(timed).addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    long now = System.nanoTime();
                    if (state.globalStep() > 1) { // the first step warms up
                        stepNanos.add(now - last[0]);
                    }
                    last[0] = now;
                }
            });
            trainer.train(pairs(4 * (steps + 1)), null);
        } finally {
            ranks.ifPresent(Distributed::close);
        }
        stepNanos.sort(Long::compare);
        double median = stepNanos.get(stepNanos.size() / 2) / 1e6;
        System.out.printf(Locale.ROOT, "RESULT step_ms=%.1f allreduce_ms=%.2f bucket_mb=%.1f%n", median,
                timed.calls == 0 ? 0 : timed.nanos / 1e6 / timed.calls, timed.bytes / 1e6);
    }

    /** 192 tokens per pair: a 128-token prompt, 32-token answers. */
    private static PreferenceDataset pairs(int n) {
        List<TokenizedPair> out = new ArrayList<>();
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < n; i++) {
            out.add(new TokenizedPair(r.longs(128, 3, 2048).toArray(), r.longs(32, 3, 2048).toArray(),
                    r.longs(32, 3, 2048).toArray(), i + 1));
        }
        return PreferenceDataset.of(out, 0);
    }

    /** The ranks, with the gradient all-reduce timed (the rest as is). */
    private static final class Timed implements DataParallel {
        private final DataParallel ranks;
        long nanos;
        long calls;
        long bytes;

        Timed(DataParallel ranks) {
            this.ranks = ranks;
        }

        @Override public int rank() { return ranks.rank(); }
        @Override public int worldSize() { return ranks.worldSize(); }
        @Override public void sum(double[] values) { ranks.sum(values); }
        @Override public void broadcastFromRankZero(Collection<NDArray> t) { ranks.broadcastFromRankZero(t); }
        @Override public void barrier() { ranks.barrier(); }
        @Override public void checkSameWeights(Collection<NDArray> p, long step) { ranks.checkSameWeights(p, step); }

        @Override
        public void averageGradients(Collection<NDArray> params) {
            long t = System.nanoTime();
            ranks.averageGradients(params);
            if (worldSize() > 1) {
                nanos += System.nanoTime() - t;
                calls++;
                bytes = 4L * params.stream().mapToLong(NDArray::size).sum();
            }
        }
    }
}
