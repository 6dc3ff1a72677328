package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;

/** Resuming where there is little or nothing left to do writes only what is missing. */
@ExtendWith(SingleThread.class)
class ResumeTest {

    @TempDir
    Path out;

    private OrpoConfig.Builder config() {
        return OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(4).maxSteps(3).saveSteps(100)
                .loggingSteps(1).outputDir(out.toString());
    }

    /**
     * A run stopped (preempted) in its last step has checkpoint-3 and no final model; resuming writes the final
     * model and evaluation, but never saves checkpoint-3 again (replacing it is two renames, and a kill between
     * them could lose the only checkpoint).
     */
    @Test
    void aRunStoppedInItsLastStepResumesWithoutRewritingItsCheckpoint() throws Exception {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            OrpoTrainer trainer = new OrpoTrainer(model, config().build());
            trainer.addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    if (state.globalStep() == 3) {
                        trainer.requestStop("SIGTERM");
                    }
                }
            });
            trainer.train(Synthetic.pairs(16, 1), Synthetic.pairs(8, 2));
        }
        Path checkpoint = out.resolve("checkpoint-3");
        assertFalse(Files.exists(out.resolve("model.safetensors")), "a stopped run writes no final model");
        Map<Path, String> before = identities(checkpoint);
        TrainResult resumed;
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            resumed = new OrpoTrainer(model, config().resumeFromCheckpoint("latest").build())
                    .train(Synthetic.pairs(16, 1), Synthetic.pairs(8, 2));
        }
        assertFalse(resumed.alreadyFinished());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertFalse(resumed.evalMetrics().isEmpty(), "the evaluation the stop skipped runs now");
        assertEquals(before, identities(checkpoint), "checkpoint-3 was not written again");
    }

    /** Resuming a run that ended (last checkpoint at maxSteps, final weights saved) writes nothing at all. */
    @Test
    void resumingAFinishedRunWritesNothing() throws Exception {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            new OrpoTrainer(model, config().build()).train(Synthetic.pairs(16, 1), Synthetic.pairs(8, 2));
        }
        Map<Path, String> before = identities(out);
        TrainResult again;
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            again = new OrpoTrainer(model, config().resumeFromCheckpoint("latest").build())
                    .train(Synthetic.pairs(16, 1), Synthetic.pairs(8, 2));
        }
        assertTrue(again.alreadyFinished());
        assertEquals(3, again.globalStep());
        assertTrue(again.evalMetrics().containsKey("eval_loss"), again.evalMetrics().toString());
        assertTrue(again.lastLog().containsKey("loss"), again.lastLog().toString());
        assertEquals(before, identities(out), "no file was written, replaced or removed");
    }

    /** Every file under {@code root} (the lock file aside) with its inode, modification time and bytes. */
    private static Map<Path, String> identities(Path root) throws IOException {
        Map<Path, String> all = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                if (!p.getFileName().toString().equals(RunLock.FILE)) {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                    all.put(root.relativize(p), a.fileKey() + " " + a.lastModifiedTime().toMillis() + " "
                            + Arrays.hashCode(Files.readAllBytes(p)));
                }
            }
        }
        return all;
    }
}
