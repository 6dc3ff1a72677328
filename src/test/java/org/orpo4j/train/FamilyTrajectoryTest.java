package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.SafetensorsFile;

/**
 * Five optimizer steps of gemma2 (sandwich norms, attention and final soft-caps, windows shorter than the pairs)
 * and phi3 (fused projections, partial rotary, longrope) against families_golden.py: TRL's own ORPOTrainer on
 * transformers' model under the HF Trainer with torch AdamW: every logged metric within 1e-5 relative, every weight within
 * 1e-6 absolute, with the plain loss and with the chunked one (which applies gemma2's final soft-cap itself).
 */
class FamilyTrajectoryTest {

    @TempDir
    Path out;

    @ParameterizedTest
    @CsvSource({"gemma2_tiny, OFF", "gemma2_tiny, ON", "phi3_tiny, OFF", "phi3_tiny, ON"})
    void fiveStepsMatchTheTorchReference(String name, ChunkedLoss chunkedLoss) throws Exception {
        Path golden = TrajectoryParityTest.resource("/golden/train/" + name);
        JsonNode reference = new ObjectMapper().readTree(golden.resolve("trajectory.json").toFile());
        Path run = Files.createTempDirectory(out, name);
        OrpoConfig config = OrpoConfig.builder()
                .perDeviceTrainBatchSize(reference.get("per_device_train_batch_size").asInt())
                .gradientAccumulationSteps(reference.get("gradient_accumulation_steps").asInt())
                .maxSteps(reference.get("max_steps").asInt()).learningRate(reference.get("learning_rate").asDouble())
                .warmupSteps(reference.get("warmup_steps").asInt()).beta(reference.get("beta").asDouble())
                .alpha(reference.get("alpha").asDouble()).maxGradNorm(reference.get("max_grad_norm").asDouble())
                .shuffle(false).loggingSteps(1).saveStrategy("no").outputDir(run.toString())
                .chunkedLoss(chunkedLoss).lossChunkValues(5 * 32).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = CausalLm.load(golden.resolve("model"), manager)) {
            new OrpoTrainer(model, config).train(Synthetic.resource("/golden/train/" + name + "/pairs.jsonl", 0), null);
            List<Map<String, Object>> lines = MetricsWriter.read(run.resolve(MetricsWriter.FILE));
            assertEquals(5, lines.size());
            double lossRel = 0;
            for (int k = 0; k < 5; k++) {
                JsonNode want = reference.get("log").get(k);
                for (String metric : new String[] {"loss", "nll_loss", "log_odds_ratio", "log_odds_chosen",
                        "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected", "grad_norm"}) {
                    double w = want.get(metric).asDouble();
                    double got = (Double) lines.get(k).get(metric);
                    assertEquals(w, got, 1e-5 * Math.abs(w), name + " " + metric + " at step " + (k + 1));
                }
                for (String metric : new String[] {"logits/chosen", "logits/rejected"}) { // the real positions'
                    assertEquals(want.get("real_" + metric).asDouble(), (Double) lines.get(k).get(metric), 1e-6);
                }
                double loss = (Double) lines.get(k).get("loss");
                lossRel = Math.max(lossRel, Math.abs(loss / want.get("loss").asDouble() - 1));
            }
            double weightAbs = 0;
            try (SafetensorsFile expected = SafetensorsFile.open(golden.resolve("final.safetensors"))) {
                Map<String, NDArray> params = model.parameters();
                assertEquals(expected.tensors().keySet(), params.keySet());
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    float[] want = expected.readFloats(e.getKey());
                    float[] got = e.getValue().toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        weightAbs = Math.max(weightAbs, Math.abs(want[i] - got[i]));
                    }
                }
            }
            assertTrue(weightAbs <= 1e-6, name + ": max weight error " + weightAbs);
            System.out.printf("%s (%s loss): max loss rel. error %.2e, max weight abs. error %.2e%n", name,
                    chunkedLoss, lossRel, weightAbs);
        }
    }
}
