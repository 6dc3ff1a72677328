package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Five optimizer steps with and without gradient checkpointing (accumulation 2, weight decay, clipping, padded
 * micro-batches of different lengths, full and LoRA with dropout): the same losses and the same weights, bit for bit.
 */
class CheckpointedTrajectoryTest {

    @TempDir
    Path tmp;

    @Test
    void fullFineTuningIsIdentical() {
        compare(false);
    }

    @Test
    void loraWithDropoutIsIdentical() {
        compare(true);
    }

    private void compare(boolean lora) {
        Run off = run(tmp.resolve(lora + "-off"), false, lora);
        Run on = run(tmp.resolve(lora + "-on"), true, lora);
        assertEquals(off.losses(), on.losses());
        for (int i = 0; i < off.weights().size(); i++) {
            assertArrayEquals(off.weights().get(i), on.weights().get(i), 0f, "tensor " + i);
        }
    }

    private record Run(List<Object> losses, List<float[]> weights) {}

    private static Run run(Path out, boolean checkpoint, boolean lora) {
        OrpoConfig config = OrpoConfig.builder().learningRate(3e-3).perDeviceTrainBatchSize(3)
                .gradientAccumulationSteps(2).maxSteps(5).weightDecay(0.01).maxGradNorm(0.5).loggingSteps(1)
                .saveStrategy("no").outputDir(out.toString()).gradientCheckpointing(checkpoint).usePeft(lora)
                .loraR(4).loraDropout(0.2).loraTargetModules(List.of("all-linear")).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 3, 5)) {
            new OrpoTrainer(model, config).train(Synthetic.pairs(30, 9), null);
            List<float[]> weights = new ArrayList<>();
            model.trainableParameters().values().forEach(p -> weights.add(p.toFloatArray()));
            List<Object> losses = new ArrayList<>();
            for (Map<String, Object> line : MetricsWriter.read(out.resolve(MetricsWriter.FILE))) {
                losses.add(line.get("loss"));
            }
            assertEquals(5, losses.size());
            return new Run(losses, weights);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
