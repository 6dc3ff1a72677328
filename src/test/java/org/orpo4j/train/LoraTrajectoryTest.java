package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.lora.LoraModel;
import org.orpo4j.model.CausalLm;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SafetensorsFile;

/**
 * Acceptance 1 of LoRA: five AdamW steps from a random adapter with non-zero B against lora_golden.py, TRL's
 * ORPOTrainer with a PEFT LoraConfig, from and to PEFT's own adapter folders (weight decay 0.01, accumulation 2, a
 * warmup step, clipping): every logged metric within 1e-5 relative (logits/*, means of values of either sign,
 * relative to max(|mean|, 1)), every adapter tensor within 1e-5 absolute; the base weights untouched.
 */
class LoraTrajectoryTest {

    @TempDir
    Path out;

    @Test
    void qwen2WithQueryAndValueAdapters() throws Exception {
        fiveSteps("qwen2_qv", 4);
    }

    @Test
    void tiedLlamaWithAllLinearRsLora() throws Exception {
        fiveSteps("llama_tied_all", 14);
    }

    /**
     * LoRA with fp16 mixed precision: the frozen base runs on float16 copies, the adapters stay float32 and their
     * loss-scaled gradients are unscaled; the trajectory tracks the float32 reference (loss within 1e-2 relative,
     * adapter within 2e-3).
     */
    @Test
    void fp16TracksTheReference() throws Exception {
        fiveSteps("qwen2_qv", 4, Precision.FP16);
    }

    private void fiveSteps(String name, int adaptedLayers) throws Exception {
        fiveSteps(name, adaptedLayers, Precision.FP32);
    }

    private void fiveSteps(String name, int adaptedLayers, Precision precision) throws Exception {
        boolean half = precision.mixed();
        Path dir = TrajectoryParityTest.resource("/golden/lora/" + name);
        JsonNode golden = new ObjectMapper().readTree(dir.resolve("trajectory.json").toFile());
        Path run = out.resolve(name);
        OrpoConfig config = OrpoConfig.builder()
                .perDeviceTrainBatchSize(golden.get("per_device_train_batch_size").asInt())
                .gradientAccumulationSteps(golden.get("gradient_accumulation_steps").asInt())
                .maxSteps(golden.get("max_steps").asInt()).learningRate(golden.get("learning_rate").asDouble())
                .warmupSteps(golden.get("warmup_steps").asInt()).weightDecay(golden.get("weight_decay").asDouble())
                .maxGradNorm(golden.get("max_grad_norm").asDouble()).beta(golden.get("beta").asDouble())
                .shuffle(false).loggingSteps(1).saveStrategy("no").outputDir(run.toString())
                .chunkedLoss(ChunkedLoss.OFF).fp16(precision == Precision.FP16).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(dir.resolve("base"), manager)) {
            float[] baseBefore = model.parameters().get("model.layers.0.self_attn.q_proj.weight").toFloatArray();
            LoraModel lora = LoraModel.load(model, dir.resolve("adapter"));
            assertEquals(2 * adaptedLayers, lora.parameters().size());
            new OrpoTrainer(model, config).train(Synthetic.resource("/golden/lora/" + name + "/pairs.jsonl", 0), null);

            List<Map<String, Object>> lines = MetricsWriter.read(run.resolve(MetricsWriter.FILE));
            assertEquals(5, lines.size());
            for (int k = 0; k < 5; k++) {
                JsonNode want = golden.get("log").get(k);
                for (String metric : List.of("loss", "nll_loss", "log_odds_ratio", "rewards/chosen", "rewards/margins",
                        "logps/rejected", "logits/chosen", "grad_norm", "learning_rate")) {
                    // the shared-prompt layout (the default) averages logits over the real positions only
                    boolean logits = metric.startsWith("logits/");
                    double w = want.get(logits ? "real_" + metric : metric).asDouble();
                    // logits/* are means of values of either sign: relative to max(|mean|, 1)
                    double scale = logits ? Math.max(Math.abs(w), 1) : Math.abs(w);
                    assertEquals(w, (Double) lines.get(k).get(metric), (half ? 1e-2 : 1e-5) * scale + 1e-12,
                            metric + " at step " + (k + 1));
                }
            }
            double worst = 0;
            try (SafetensorsFile expected = SafetensorsFile.open(dir.resolve("final/adapter_model.safetensors"));
                    SafetensorsFile saved = SafetensorsFile.open(run.resolve(LoraModel.WEIGHTS_FILE))) {
                assertEquals(expected.tensors().keySet(), lora.parameters().keySet());
                for (Map.Entry<String, NDArray> e : lora.parameters().entrySet()) {
                    float[] want = expected.readFloats(e.getKey());
                    float[] got = e.getValue().toFloatArray();
                    assertTrue(java.util.Arrays.equals(got, saved.readFloats(e.getKey())), "saved as trained");
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(want[i], got[i], half ? 2e-3 : 1e-5, e.getKey() + "[" + i + "]");
                        worst = Math.max(worst, Math.abs(want[i] - got[i]));
                    }
                }
            }
            assertTrue(java.util.Arrays.equals(baseBefore,
                    model.parameters().get("model.layers.0.self_attn.q_proj.weight").toFloatArray()), "base frozen");
            assertFalse(Files.exists(run.resolve("model.safetensors")), "a LoRA run writes the adapter, not the base");
            assertTrue(Files.exists(run.resolve("adapter_config.json")));
            System.out.printf("LoRA parity %s in %s: max adapter abs. error %.2e%n", name, precision, worst);
        }
    }
}
