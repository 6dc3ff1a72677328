package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.precision.Precision;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeFeatures;
import org.orpo4j.runtime.NativeTests;
import org.orpo4j.safetensors.SafetensorsFile;

/**
 * Acceptance 1: five optimizer steps on a tiny random llama (4 pairs per micro-batch, accumulation 2, lr 1e-3,
 * 1 warmup step, file order, 16 pairs so epochs wrap) against trainer_golden.py: TRL's own ORPOTrainer
 * (trl.experimental.orpo) on transformers' LlamaForCausalLM under the HF Trainer with torch AdamW: loss to 1e-4
 * relative, weights to 1e-5 absolute.
 */
class TrajectoryParityTest {

    @TempDir
    Path out;

    @Test
    void fiveStepsMatchTheTorchReference() throws Exception {
        fiveSteps(Device.cpu(), ChunkedLoss.OFF);
    }

    /**
     * TRL's own layout, two padded rows per pair ({@code sharedPrompt} off), follows the same trajectory and gives
     * TRL's {@code logits/*} (averaged over the padded tensor); the default layout's average the real positions.
     */
    @Test
    void fiveStepsInTheTwoRowLayoutMatchTheTorchReference() throws Exception {
        fiveSteps(Device.cpu(), ChunkedLoss.OFF, Precision.FP32, false);
        fiveSteps(Device.cpu(), ChunkedLoss.ON, Precision.FP32, false);
    }

    /** The chunked loss path (never holding the logits) follows the same trajectory, in chunks of 5 positions. */
    @Test
    void fiveStepsWithTheChunkedLossMatchTheTorchReference() throws Exception {
        fiveSteps(Device.cpu(), ChunkedLoss.ON);
    }

    /** The same trajectory with model, batches and optimizer state on the GPU; skipped where there is none. */
    @Test
    @Tag("gpu")
    void fiveStepsOnTheGpu() throws Exception {
        Assumptions.assumeTrue(DjlRuntime.gpuCount() > 0, "no GPU");
        fiveSteps(Device.gpu(), ChunkedLoss.OFF);
    }

    /**
     * fp16 mixed precision (half-precision weights and activations, float32 masters, loss scaling) tracks the
     * float32 reference: every step's loss within 1e-2 relative, the weights within 2e-3 absolute after 5 steps.
     */
    @Test
    void fiveStepsInFp16TrackTheFloat32Reference() throws Exception {
        fiveSteps(Device.cpu(), ChunkedLoss.OFF, Precision.FP16);
    }

    /** The chunked loss on a half-precision model tracks the float32 reference the same way. */
    @Test
    void fiveStepsInFp16WithTheChunkedLossTrackTheFloat32Reference() throws Exception {
        fiveSteps(Device.cpu(), ChunkedLoss.ON, Precision.FP16);
    }

    /**
     * bf16 mixed precision tracks the float32 reference like fp16 (no loss scaling). Needs orpo4j's JNI (mvn package
     * builds it, docs/native.md): DJL's own terminates the JVM on the first bfloat16 array.
     */
    @Test
    @Tag("native")
    void fiveStepsInBf16TrackTheFloat32Reference() throws Exception {
        NativeTests.assumeBf16();
        fiveSteps(Device.cpu(), ChunkedLoss.OFF, Precision.BF16);
    }

    /** fp16 mixed precision on the GPU tracks the float32 reference. */
    @Test
    @Tag("gpu")
    void fiveStepsOnTheGpuInFp16() throws Exception {
        Assumptions.assumeTrue(DjlRuntime.gpuCount() > 0, "no GPU");
        fiveSteps(Device.gpu(), ChunkedLoss.OFF, Precision.FP16);
    }

    /** bf16 mixed precision on the GPU tracks the float32 reference, with the plain and the chunked loss. */
    @Test
    @Tag("gpu")
    void fiveStepsOnTheGpuInBf16() throws Exception {
        Assumptions.assumeTrue(DjlRuntime.gpuCount() > 0, "no GPU");
        Assumptions.assumeTrue(NativeFeatures.bfloat16(), "DJL's own PyTorch JNI has no bfloat16 (docs/gpu.md)");
        fiveSteps(Device.gpu(), ChunkedLoss.OFF, Precision.BF16);
        fiveSteps(Device.gpu(), ChunkedLoss.ON, Precision.BF16);
    }

    /**
     * Through torch's fused attention (attnImplementation sdpa) the same TRL trajectory within the same bounds, on
     * the two-row layout (a padded batch: the mask) and the shared-prompt layout (pieces masked by position).
     */
    @Test
    void fiveStepsWithSdpaMatchTheReference() throws Exception {
        NativeTests.assumeFusedAttention();
        fiveSteps(Device.cpu(), ChunkedLoss.OFF, Precision.FP32, false, AttnImplementation.SDPA);
        fiveSteps(Device.cpu(), ChunkedLoss.ON, Precision.FP32, true, AttnImplementation.SDPA);
    }

    /** The same on the GPU (flash or memory-efficient attention), in float32 and in bf16. */
    @Test
    @Tag("gpu")
    void fiveStepsOnTheGpuWithSdpa() throws Exception {
        Assumptions.assumeTrue(DjlRuntime.gpuCount() > 0, "no GPU");
        NativeTests.assumeFusedAttention();
        fiveSteps(Device.gpu(), ChunkedLoss.OFF, Precision.FP32, true, AttnImplementation.SDPA);
        fiveSteps(Device.gpu(), ChunkedLoss.OFF, Precision.BF16, true, AttnImplementation.SDPA);
        fiveSteps(Device.gpu(), ChunkedLoss.OFF, Precision.BF16, false, AttnImplementation.SDPA);
    }

    private void fiveSteps(Device device, ChunkedLoss chunkedLoss) throws Exception {
        fiveSteps(device, chunkedLoss, Precision.FP32);
    }

    private void fiveSteps(Device device, ChunkedLoss chunkedLoss, Precision precision) throws Exception {
        fiveSteps(device, chunkedLoss, precision, true);
    }

    private void fiveSteps(Device device, ChunkedLoss chunkedLoss, Precision precision, boolean sharedPrompt)
            throws Exception {
        fiveSteps(device, chunkedLoss, precision, sharedPrompt, null);
    }

    private void fiveSteps(Device device, ChunkedLoss chunkedLoss, Precision precision, boolean sharedPrompt,
            AttnImplementation attention) throws Exception {
        Path run = Files.createTempDirectory(out, precision + "-" + chunkedLoss);
        boolean half = precision.mixed();
        double lossTolerance = half ? 1e-2 : 1e-4;
        double weightTolerance = half ? 2e-3 : 1e-5;
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/train/trajectory.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        long vocab = ModelConfig.load(resource("/golden/train/tiny_llama").resolve("config.json")).vocabSize();
        OrpoConfig config = OrpoConfig.builder()
                .perDeviceTrainBatchSize(golden.get("per_device_train_batch_size").asInt())
                .gradientAccumulationSteps(golden.get("gradient_accumulation_steps").asInt())
                .maxSteps(golden.get("max_steps").asInt()).learningRate(golden.get("learning_rate").asDouble())
                .warmupSteps(golden.get("warmup_steps").asInt()).beta(golden.get("beta").asDouble())
                .alpha(golden.get("alpha").asDouble()).maxGradNorm(golden.get("max_grad_norm").asDouble())
                .shuffle(false).loggingSteps(1).saveStrategy("no").outputDir(run.toString())
                .chunkedLoss(chunkedLoss).lossChunkValues(5 * vocab)
                .bf16(precision == Precision.BF16).fp16(precision == Precision.FP16).sharedPrompt(sharedPrompt)
                .set(Settings.ATTN_IMPLEMENTATION, attention).build();
        try (NDManager manager = DjlRuntime.newManager(device);
                CausalLm model = CausalLm.load(resource("/golden/train/tiny_llama"), manager)) {
            assertEquals(device, model.parameters().get("lm_head.weight").getDevice());
            OrpoTrainer trainer = new OrpoTrainer(model, config);
            Set<DataType> trained = new HashSet<>(); // the dtype the forward pass read at each step
            trainer.addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    model.parameters().values().forEach(p -> trained.add(p.getDataType()));
                }
            });
            TrainResult result = trainer.train(Synthetic.resource("/golden/train/tiny_pairs.jsonl", 0), null);
            assertEquals(5, result.globalStep());
            assertEquals(Set.of(precision.dtype()), trained);
            List<Map<String, Object>> lines = MetricsWriter.read(run.resolve(MetricsWriter.FILE));
            assertEquals(5, lines.size());
            double lossRel = 0;
            double weightAbs = 0;
            for (int k = 0; k < 5; k++) {
                JsonNode want = golden.get("log").get(k);
                lossRel = Math.max(lossRel, Math.abs((Double) lines.get(k).get("loss") / want.get("loss").asDouble() - 1));
                Map<String, Object> got = lines.get(k);
                assertEquals(k + 1L, got.get("step"));
                assertEquals(want.get("learning_rate").asDouble(), (Double) got.get("learning_rate"), 1e-12);
                for (String name : new String[] {"loss", "nll_loss", "log_odds_ratio", "rewards/chosen",
                        "logps/rejected", "grad_norm"}) {
                    double w = want.get(name).asDouble();
                    assertEquals(w, (Double) got.get(name), lossTolerance * Math.abs(w), name + " at step " + (k + 1));
                }
                if (!half) {
                    assertEquals(want.get("rewards/accuracies").asDouble(), (Double) got.get("rewards/accuracies"),
                            1e-9);
                }
                String logits = sharedPrompt ? "real_logits/chosen" : "logits/chosen"; // see the two-row test
                assertEquals(want.get(logits).asDouble(), (Double) got.get("logits/chosen"),
                        half ? 1e-3 : 1e-5);
            }
            try (SafetensorsFile expected = SafetensorsFile.open(resource("/golden/train/trajectory_final.safetensors"));
                    SafetensorsFile start = SafetensorsFile.open(resource("/golden/train/tiny_llama/model.safetensors"))) {
                Map<String, NDArray> params = model.parameters();
                assertEquals(expected.tensors().keySet(), params.keySet());
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    float[] want = expected.readFloats(e.getKey());
                    float[] got = e.getValue().toFloatArray();
                    float[] initial = start.readFloats(e.getKey());
                    double moved = 0;
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(want[i], got[i], weightTolerance, e.getKey() + "[" + i + "]");
                        weightAbs = Math.max(weightAbs, Math.abs(want[i] - got[i]));
                        moved = Math.max(moved, Math.abs(want[i] - initial[i]));
                    }
                    assertTrue(moved > 1e-4, e.getKey() + " barely moved: " + moved);
                    assertEquals(DataType.FLOAT32, e.getValue().getDataType(), e.getKey() + " (the master)");
                }
                System.out.printf("parity on %s in %s (%s loss, %s, %s attention): max loss rel. error %.2e, max"
                        + " weight abs. error %.2e%n", device, precision, chunkedLoss, sharedPrompt ? "shared prompt"
                        : "two rows", attention == null ? "eager" : attention.hfName(), lossRel, weightAbs);
            }
        }
    }

    static Path resource(String name) throws URISyntaxException, IOException {
        return Path.of(TrajectoryParityTest.class.getResource(name).toURI());
    }
}
