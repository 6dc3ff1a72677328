package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.lora.LoraConfig;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeTests;

/**
 * bf16 on the CPU as a first-class path (orpo4j's JNI): five optimizer steps of a tiny llama and of a tiny qwen3
 * (q/k norms) with {@code bf16} track the same five steps in float32 within 2e-2 relative on the loss and on every
 * metric the trainer logs; a LoRA run whose frozen base is stored in bfloat16 outright tracks the same run on a
 * float32 base within the same bound. The float32 runs are themselves checked against torch references elsewhere
 * (TrajectoryParityTest, LoraTrajectoryTest, CausalLmGoldenTest).
 */
@Tag("native")
class Bf16TrajectoryTest {

    /** The bound of the issue: relative to the float32 value, for the loss and every metric. */
    private static final double BOUND = 2e-2;

    /**
     * Metrics whose float32 value is a difference of nearly equal quantities can be ~0 (a margin of 1e-4 between two
     * log-probabilities of -3.4): for them the bound is taken relative to the quantities they are differences of.
     */
    private static final Map<String, List<String>> DIFFERENCES = Map.of(
            "rewards/margins", List.of("rewards/chosen", "rewards/rejected"),
            "log_odds_chosen", List.of("logps/chosen", "logps/rejected"));

    /**
     * {@code logits/chosen} and {@code logits/rejected} are means of logits of either sign (-0.004 here, where single
     * logits are about ±0.1): their bound is relative to the mean |logit| of the float32 model, what they average.
     */
    private static final Set<String> LOGIT_MEANS = Set.of("logits/chosen", "logits/rejected");

    @TempDir
    Path out;

    @BeforeAll
    static void needsBf16() {
        NativeTests.assumeBf16();
    }

    @Test
    void tinyLlamaTracksFloat32() throws Exception {
        compare("llama", TrajectoryParityTest.resource("/golden/train/tiny_llama"), null);
    }

    @Test
    void tinyQwen3TracksFloat32() throws Exception {
        compare("qwen3", TrajectoryParityTest.resource("/golden/model/qwen3_qk_norm"), null);
    }

    /**
     * bf16 through torch's fused attention (the float32 mask narrowed to bfloat16's lowest value, never -inf) tracks
     * the eager float32 run.
     */
    @Test
    void tinyQwen3WithSdpaTracksFloat32() throws Exception {
        NativeTests.assumeFusedAttention();
        compare("qwen3-sdpa", TrajectoryParityTest.resource("/golden/model/qwen3_qk_norm"), null,
                AttnImplementation.SDPA);
    }

    /** The frozen base is bfloat16 for good (2 bytes per parameter) and the adapters float32, trained as such. */
    @Test
    void loraOnABf16BaseTracksAFloat32Base() throws Exception {
        compare("lora-qwen3", TrajectoryParityTest.resource("/golden/model/qwen3_qk_norm"),
                new LoraConfig(8, 16, 0.0, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                        "down_proj"), false, null));
    }

    private void compare(String name, Path modelDir, LoraConfig lora) throws Exception {
        compare(name, modelDir, lora, AttnImplementation.EAGER);
    }

    /** The bf16 run with {@code attention}, the float32 run eager. */
    private void compare(String name, Path modelDir, LoraConfig lora, AttnImplementation attention)
            throws Exception {
        double meanAbsLogit = meanAbsLogit(modelDir);
        List<Map<String, Object>> fp32 = run(name, modelDir, lora, Precision.FP32, AttnImplementation.EAGER);
        List<Map<String, Object>> bf16 = run(name, modelDir, lora, Precision.BF16, attention);
        assertEquals(5, fp32.size());
        assertEquals(5, bf16.size());
        Set<String> metrics = new TreeSet<>(fp32.get(0).keySet());
        metrics.removeAll(Set.of("step", "epoch", "learning_rate", "num_tokens", "num_input_tokens_seen"));
        assertTrue(metrics.containsAll(List.of("loss", "nll_loss", "log_odds_ratio", "log_odds_chosen",
                "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
                "logps/rejected", "logits/chosen", "logits/rejected", "grad_norm")), metrics.toString());
        double moved = Math.abs(number(fp32.get(4), "loss") / number(fp32.get(0), "loss") - 1);
        assertTrue(moved > 1e-2, name + ": the loss moved only " + moved + " in 5 steps: nothing to track");
        List<String> report = new ArrayList<>();
        for (String metric : metrics) {
            double worst = 0;
            for (int k = 0; k < 5; k++) {
                double want = number(fp32.get(k), metric);
                double got = number(bf16.get(k), metric);
                double scale = LOGIT_MEANS.contains(metric) ? Math.max(Math.abs(want), meanAbsLogit) : Math.abs(want);
                for (String part : DIFFERENCES.getOrDefault(metric, List.of())) {
                    scale = Math.max(scale, Math.abs(number(fp32.get(k), part)));
                }
                double rel = Math.abs(got - want) / scale;
                worst = Math.max(worst, rel);
                assertTrue(rel <= BOUND, String.format(Locale.ROOT, "%s %s at step %d: bf16 %.6g vs float32 %.6g"
                        + " (%.2e relative)", name, metric, k + 1, got, want, rel));
            }
            report.add(String.format(Locale.ROOT, "%s %.1e", metric, worst));
        }
        System.out.printf("%s bf16 vs float32, max relative difference over 5 steps: %s%n", name,
                String.join(", ", report));
    }

    /** The mean |logit| of the float32 model over the first pair's prompt + chosen answer. */
    private static double meanAbsLogit(Path modelDir) throws Exception {
        var pair = Synthetic.resource("/golden/train/tiny_pairs.jsonl", 0).row(0);
        long[] ids = java.util.stream.LongStream.concat(java.util.Arrays.stream(pair.prompt()),
                java.util.Arrays.stream(pair.chosen())).toArray();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(modelDir, manager);
                org.orpo4j.runtime.GradMode off = org.orpo4j.runtime.GradMode.enabled(false)) {
            NDArray input = manager.create(ids, new ai.djl.ndarray.types.Shape(1, ids.length));
            return model.forward(input, null).abs().mean().getFloat();
        }
    }

    private static double number(Map<String, Object> line, String metric) {
        return ((Number) line.get(metric)).doubleValue();
    }

    /** Five steps (4 pairs per micro-batch, accumulation 2, lr 1e-3, a warm-up step) in {@code precision}. */
    private List<Map<String, Object>> run(String name, Path modelDir, LoraConfig lora, Precision precision,
            AttnImplementation attention) throws Exception {
        Path run = Files.createTempDirectory(out, name + "-" + precision);
        OrpoConfig config = OrpoConfig.builder().perDeviceTrainBatchSize(4).gradientAccumulationSteps(2).maxSteps(5)
                .learningRate(lora == null ? 1e-3 : 1e-2).warmupSteps(1).shuffle(false).loggingSteps(1)
                .saveStrategy("no").outputDir(run.toString()).bf16(precision == Precision.BF16)
                .set(Settings.ATTN_IMPLEMENTATION, attention).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(modelDir, manager)) {
            String baseName = "model.layers.0.mlp.down_proj.weight";
            float[] base = model.parameters().get(baseName).toFloatArray();
            if (lora != null) {
                LoraModel.attach(model, lora, 7);
            }
            OrpoTrainer trainer = new OrpoTrainer(model, config);
            assertEquals(attention, model.attnImplementation(), "the trainer sets attnImplementation");
            trainer.train(Synthetic.resource("/golden/train/tiny_pairs.jsonl", 0), null);
            if (lora != null) {
                NDArray after = model.parameters().get(baseName);
                DataType stored = precision == Precision.BF16 ? DataType.BFLOAT16 : DataType.FLOAT32;
                assertEquals(stored, after.getDataType(), "the frozen base after a " + precision + " LoRA run");
                for (NDArray w : model.parameters().values()) {
                    assertEquals(stored, w.getDataType(), "every base weight");
                }
                try (NDArray rounded = manager.create(base, after.getShape()).toType(stored, false)) {
                    assertTrue(rounded.contentEquals(after), "the base holds its own values, rounded to " + stored);
                }
                // merged into the bfloat16 base and saved as float32, as FineTuneWithLora does: exact widening
                LoraModel.of(model).orElseThrow().merge();
                float[] merged = model.parameters().get(baseName).toType(DataType.FLOAT32, false).toFloatArray();
                Path saved = run.resolve("merged");
                model.save(saved, org.orpo4j.safetensors.SaveOptions.defaults(), null);
                try (CausalLm back = CausalLm.load(saved, manager)) {
                    assertTrue(java.util.Arrays.equals(merged, back.parameters().get(baseName).toFloatArray()),
                            "the merged " + stored + " base saved and loaded back");
                }
            }
        }
        return MetricsWriter.read(run.resolve(MetricsWriter.FILE));
    }
}
