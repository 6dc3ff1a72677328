package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Acceptance 2: a child JVM trains with checkpoints and is killed with SIGKILL right after checkpoint-3 is saved
 * (mid-epoch, shuffled data); resuming from the latest checkpoint ends with the weights and logged metrics of an
 * uninterrupted run. The same for a LoRA run (all-linear, dropout 0.1): its adapter ends identical.
 */
@ExtendWith(SingleThread.class)
class KillResumeTest {

    static final String MARKER = "CHECKPOINT-SAVED ";
    static final int KILL_AFTER = 3;

    @TempDir
    Path tmp;

    /** 40 pairs, 4 per micro-batch, accumulation 2: 5 steps per epoch; 8 steps cross into the second epoch. */
    static OrpoConfig config(Path out, boolean lora) {
        return OrpoConfig.builder().learningRate(2e-3).perDeviceTrainBatchSize(4).gradientAccumulationSteps(2)
                .maxSteps(8).warmupSteps(2).weightDecay(0.01).seed(17).shuffle(true).loggingSteps(1).saveSteps(3)
                .saveTotalLimit(2).resumeFromCheckpoint("latest").outputDir(out.toString())
                .usePeft(lora).loraR(4).loraAlpha(8).loraDropout(0.1).loraTargetModules(List.of("all-linear")).build();
    }

    /** Trains (or resumes) in {@code out}; returns the final trained weights (the adapter's, for LoRA). */
    static List<float[]> train(Path out, TrainerListener listener, boolean lora) {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 2, 7)) {
            OrpoTrainer trainer = new OrpoTrainer(model, config(out, lora));
            if (listener != null) {
                trainer.addListener(listener);
            }
            trainer.train(Synthetic.pairs(40, 4), null);
            List<float[]> weights = new ArrayList<>();
            model.trainableParameters().values().forEach(p -> weights.add(p.toFloatArray()));
            return weights;
        }
    }

    /** The child process: trains in args[0] (LoRA when args[1] says so), prints a marker after checkpoint-3 and
     *  blocks there until killed. */
    public static void main(String[] args) throws InterruptedException {
        SingleThread.forThisProcess();
        train(Path.of(args[0]), new TrainerListener() {
            @Override
            public void onSave(TrainerState state, Path checkpoint, TrainerControl control) {
                if (state.globalStep() == KILL_AFTER) {
                    System.out.println(MARKER + checkpoint);
                    System.out.flush();
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }, args.length > 1 && args[1].equals("lora"));
        System.out.println("child finished without being killed");
    }

    @Test
    void killedAfterACheckpointAndResumedEndsWithTheSameWeights() throws Exception {
        killAndResume(false);
    }

    @Test
    void aLoraRunKilledAndResumedEndsWithTheSameAdapter() throws Exception {
        killAndResume(true);
    }

    private void killAndResume(boolean lora) throws Exception {
        Path reference = tmp.resolve("reference");
        List<float[]> expected = train(reference, null, lora);

        Path killed = tmp.resolve("killed");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), KillResumeTest.class.getName(), killed.toString(),
                lora ? "lora" : "full")
                .redirectErrorStream(true).start();
        String marker = null;
        StringBuilder childOutput = new StringBuilder();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                childOutput.append(line).append('\n');
                if (line.startsWith(MARKER)) {
                    marker = line;
                    child.destroyForcibly(); // SIGKILL on Unix: no shutdown hooks, no finally blocks
                    break;
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not die");
        assertEquals(MARKER + killed.resolve("checkpoint-" + KILL_AFTER), marker, childOutput.toString());
        assertEquals(137, child.exitValue()); // 128 + SIGKILL
        assertEquals(List.of(killed.resolve("checkpoint-3")), CheckpointManager.list(killed));
        assertFalse(Files.exists(killed.resolve("model.safetensors"))); // the run never finished
        assertFalse(Files.exists(killed.resolve("adapter_model.safetensors")));

        List<float[]> resumed = train(killed, null, lora);
        double maxDiff = 0;
        for (int i = 0; i < expected.size(); i++) {
            for (int j = 0; j < expected.get(i).length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected.get(i)[j] - resumed.get(i)[j]));
            }
        }
        System.out.println("kill/resume" + (lora ? " (LoRA)" : "") + ": max |w_resumed - w_uninterrupted| = " + maxDiff);
        assertTrue(maxDiff <= 1e-6, "resumed weights differ by " + maxDiff);

        List<Map<String, Object>> want = MetricsWriter.read(reference.resolve(MetricsWriter.FILE));
        List<Map<String, Object>> got = MetricsWriter.read(killed.resolve(MetricsWriter.FILE));
        assertEquals(8, got.size());
        for (int k = 0; k < 8; k++) {
            assertEquals(want.get(k).get("step"), got.get(k).get("step"));
            assertEquals((Double) want.get(k).get("loss"), (Double) got.get(k).get("loss"), 1e-6);
            assertEquals((Double) want.get(k).get("learning_rate"), (Double) got.get(k).get("learning_rate"), 0);
            assertEquals((Double) want.get(k).get("epoch"), (Double) got.get(k).get("epoch"), 0);
        }
        assertEquals(List.of(killed.resolve("checkpoint-6"), killed.resolve("checkpoint-8")),
                CheckpointManager.list(killed));
    }
}
