package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;

/** A finished run is never clobbered: refused, overwritten only when asked, resumed only when it fits. */
class OutputDirTest {

    @TempDir
    Path dir;

    private static OrpoConfig.Builder config(Path out, int steps) {
        return OrpoConfig.builder().learningRate(1e-2).perDeviceTrainBatchSize(4).maxSteps(steps).saveSteps(1)
                .loggingSteps(1).outputDir(out.toString());
    }

    private static TrainResult train(OrpoConfig config, PreferenceDataset data) {
        try (NDManager m = DjlRuntime.newManager(Device.cpu()); CausalLm model = Synthetic.model(m, 8, 1, 3)) {
            return new OrpoTrainer(model, config).train(PairSource.of(data), null);
        }
    }

    @Test
    void aFreshRunIntoAFinishedOneIsRefusedAndNothingIsTouched() throws Exception {
        Path out = dir.resolve("run");
        train(config(out, 3).build(), Synthetic.pairs(16, 1));
        String metrics = Files.readString(out.resolve(MetricsWriter.FILE));
        byte[] model = Files.readAllBytes(out.resolve("model.safetensors"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> train(config(out, 2).build(), Synthetic.pairs(16, 1)));
        assertTrue(e.getMessage().startsWith(out + " already holds a training run (checkpoint-1, checkpoint-2,"
                + " checkpoint-3, metrics.jsonl, ...)"), e.getMessage());
        assertTrue(e.getMessage().contains("--resume") && e.getMessage().contains("--overwrite-output-dir"));
        assertEquals(metrics, Files.readString(out.resolve(MetricsWriter.FILE)));
        assertTrue(java.util.Arrays.equals(model, Files.readAllBytes(out.resolve("model.safetensors"))));
    }

    @Test
    void overwriteRemovesTheOldCheckpointsAndMetricsFirst() throws Exception {
        Path out = dir.resolve("run");
        train(config(out, 3).build(), Synthetic.pairs(16, 1));
        train(config(out, 2).overwriteOutputDir(true).saveStrategy("no").build(), Synthetic.pairs(16, 1));
        assertEquals(List.of(), CheckpointManager.list(out), "stale checkpoints removed");
        assertEquals(List.of(1L, 2L), MetricsWriter.read(out.resolve(MetricsWriter.FILE)).stream()
                .map(l -> l.get("step")).toList(), "only the new run's lines");
        assertTrue(Files.exists(out.resolve("model.safetensors")));
    }

    @Test
    void resumingACheckpointAheadOfMaxStepsIsRefused() {
        Path out = dir.resolve("run");
        train(config(out, 3).build(), Synthetic.pairs(16, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> train(config(out, 2).resumeFromCheckpoint("latest").build(), Synthetic.pairs(16, 1)));
        assertTrue(e.getMessage().contains("the checkpoint is at step 3, past this run's 2 steps"), e.getMessage());
    }

    @Test
    void resumingWithOtherDataOfTheSameLengthIsRefused() {
        Path out = dir.resolve("run");
        PreferenceDataset original = Synthetic.pairs(16, 1);
        PreferenceDataset other = Synthetic.pairs(16, 2);
        assertEquals(original.size(), other.size());
        assertNotEquals(original.fingerprint(), other.fingerprint());
        assertEquals(original.fingerprint(), Synthetic.pairs(16, 1).fingerprint(), "a pure function of the tokens");
        train(config(out, 2).build(), original);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> train(config(out, 4).resumeFromCheckpoint("latest").build(), other));
        assertTrue(e.getMessage().startsWith("the training data differs from the data the checkpoint was trained on"
                + " (token fingerprint " + other.fingerprint() + ", checkpoint " + original.fingerprint() + ")"),
                e.getMessage());
        TrainResult resumed = train(config(out, 4).resumeFromCheckpoint("latest").build(), original);
        assertEquals(4, resumed.globalStep());
        assertFalse(Files.exists(out.resolve(OutputDir.SKIPPED_ROWS_FILE)));
    }
}
