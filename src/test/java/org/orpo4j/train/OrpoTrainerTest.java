package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.PreferenceDataset;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.GradMode;

@ExtendWith(SingleThread.class)
class OrpoTrainerTest {

    /** TRL ORPOTrainer's logged metric names (docs/training.md). */
    static final List<String> TRL_METRICS = List.of("loss", "nll_loss", "log_odds_ratio", "log_odds_chosen",
            "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
            "logps/rejected", "logits/chosen", "logits/rejected");

    @TempDir
    Path out;

    /** Acceptance 3: held-out reward accuracy from about 0.5 to at least 0.9, margins above 0. */
    @Test
    void trainingRaisesHeldOutRewardAccuracy() {
        PreferenceDataset train = Synthetic.pairs(96, 1);
        PreferenceDataset heldOut = Synthetic.pairs(48, 2);
        OrpoConfig config = OrpoConfig.builder().learningRate(3e-3).perDeviceTrainBatchSize(8)
                .perDeviceEvalBatchSize(16).maxSteps(48).warmupSteps(4).seed(5).loggingSteps(12)
                .evalStrategy("steps").evalSteps(24).saveStrategy("no").outputDir(out.toString()).build();
        long start = System.nanoTime();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 32, 2, 3)) {
            OrpoTrainer trainer = new OrpoTrainer(model, config);
            Map<String, Double> before = trainer.evaluate(heldOut);
            TrainResult result = trainer.train(train, heldOut);
            Map<String, Double> after = result.evalMetrics();
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("held-out rewards/accuracies %.3f -> %.3f, margins %.4f -> %.4f in %.1f s%n",
                    before.get("eval_rewards/accuracies"), after.get("eval_rewards/accuracies"),
                    before.get("eval_rewards/margins"), after.get("eval_rewards/margins"), seconds);
            assertTrue(before.get("eval_rewards/accuracies") > 0.2 && before.get("eval_rewards/accuracies") < 0.8,
                    "untrained accuracy " + before);
            assertTrue(after.get("eval_rewards/accuracies") >= 0.9, "trained accuracy " + after);
            assertTrue(after.get("eval_rewards/margins") > 0, "trained margins " + after);
            assertTrue(after.get("eval_loss") < before.get("eval_loss"));
            assertEquals(48, result.globalStep());
            assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
            assertTrue(Files.isRegularFile(out.resolve("config.json")));
        }
    }

    /** Acceptance 5: every TRL metric name (and eval_ twin) in metrics.jsonl, read back. */
    @Test
    void metricsJsonlHoldsEveryTrlName() throws Exception {
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(4).maxSteps(4)
                .loggingSteps(2).evalStrategy("steps").evalSteps(4).saveSteps(2).saveTotalLimit(1)
                .outputDir(out.toString()).build();
        List<Path> saved = new ArrayList<>();
        List<Long> logged = new ArrayList<>();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            new OrpoTrainer(model, config).addListener(new TrainerListener() {
                @Override
                public void onSave(TrainerState state, Path checkpoint, TrainerControl control) {
                    saved.add(checkpoint);
                }

                @Override
                public void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {
                    logged.add(state.globalStep());
                }
            }).train(Synthetic.pairs(16, 1), Synthetic.pairs(8, 2));
        }
        List<Map<String, Object>> lines = MetricsWriter.read(out.resolve(MetricsWriter.FILE));
        assertEquals(3, lines.size()); // train at 2, train at 4, eval at 4
        for (Map<String, Object> train : lines.subList(0, 2)) {
            for (String k : List.of("step", "epoch", "learning_rate", "grad_norm")) {
                assertNotNull(train.get(k), k);
            }
            for (String k : TRL_METRICS) {
                assertTrue(train.get(k) instanceof Double d && Double.isFinite(d), k + " in " + train);
            }
        }
        assertEquals(4L, lines.get(1).get("step"));
        assertEquals(1.0, (Double) lines.get(1).get("epoch"), 1e-12); // 16 pairs / 4 = 4 steps per epoch
        for (String k : TRL_METRICS) {
            assertTrue(lines.get(2).get("eval_" + k) instanceof Double, "eval_" + k);
        }
        assertEquals(List.of(2L, 4L), logged);
        assertEquals(List.of(out.resolve("checkpoint-2"), out.resolve("checkpoint-4")), saved);
        assertEquals(List.of(out.resolve("checkpoint-4")), CheckpointManager.list(out)); // saveTotalLimit 1
        Path ckpt = out.resolve("checkpoint-4");
        for (String f : List.of("config.json", "model.safetensors", "trainer_state.json",
                "optimizer/model.safetensors")) {
            assertTrue(Files.isRegularFile(ckpt.resolve(f)), f);
        }
        TrainerState state = TrainerState.read(ckpt.resolve(TrainerState.FILE));
        assertEquals(4, state.globalStep());
        assertEquals(3, state.logHistory().size());
    }

    /** A listener stops the run (final checkpoint and model still written); a named checkpoint resumes it. */
    @Test
    void listenerStopsAndANamedCheckpointResumes() throws Exception {
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(4).maxSteps(5)
                .saveSteps(100).outputDir(out.toString()).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            TrainResult stopped = new OrpoTrainer(model, config).addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    if (state.globalStep() == 2) {
                        control.requestStop("enough");
                    }
                }
            }).train(Synthetic.pairs(16, 1), null);
            assertEquals(2, stopped.globalStep());
            assertEquals("enough", stopped.stopReason());
            assertEquals(List.of(out.resolve("checkpoint-2")), CheckpointManager.list(out));
            assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        }
        OrpoConfig resume = config.toBuilder().resumeFromCheckpoint(out.resolve("checkpoint-2").toString()).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 99)) { // other init: the checkpoint overwrites it
            TrainResult done = new OrpoTrainer(model, resume).train(Synthetic.pairs(16, 1), null);
            assertEquals(5, done.globalStep());
            assertEquals(List.of(out.resolve("checkpoint-2"), out.resolve("checkpoint-5")),
                    CheckpointManager.list(out));
            assertEquals(5, TrainerState.read(out.resolve("checkpoint-5").resolve(TrainerState.FILE)).optimizerSteps());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                    CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
                new OrpoTrainer(model, resume).train(Synthetic.pairs(24, 1), null);
            }
        });
        assertTrue(e.getMessage().contains("micro-batches per epoch"), e.getMessage());
    }

    /** A NaN loss skips the update; K in a row stop the run with a clear error and no checkpoint. */
    @Test
    void nonFiniteStepsAreSkippedThenStopTheRun() throws Exception {
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(4).maxSteps(10)
                .saveSteps(1).maxNonFiniteSteps(3).outputDir(out.toString()).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            NDArray norm = model.parameters().get("model.norm.weight");
            float[] before = model.parameters().get("lm_head.weight").toFloatArray();
            try (GradMode ng = GradMode.enabled(false)) {
                norm.muli(Float.NaN);
            }
            NonFiniteTrainingException e = assertThrows(NonFiniteTrainingException.class,
                    () -> new OrpoTrainer(model, config).train(Synthetic.pairs(16, 1), null));
            assertTrue(e.getMessage().startsWith("3 steps in a row up to step 3"), e.getMessage());
            assertTrue(CheckpointManager.list(out).isEmpty());
            assertEquals(List.of(), MetricsWriter.read(out.resolve(MetricsWriter.FILE)));
            // the updates were skipped: the finite weights did not move
            float[] after = model.parameters().get("lm_head.weight").toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(before[i], after[i], 0f);
            }
        }
    }

    /** One skipped NaN step between good ones: the run goes on and the skipped step counts as a step. */
    @Test
    void aSingleNonFiniteStepIsSkipped() throws Exception {
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(4).maxSteps(4)
                .loggingSteps(1).saveStrategy("no").outputDir(out.toString()).build();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 16, 1, 3)) {
            NDArray norm = model.parameters().get("model.norm.weight");
            float[] good = norm.toFloatArray();
            OrpoTrainer trainer = new OrpoTrainer(model, config).addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    try (GradMode ng = GradMode.enabled(false)) {
                        if (state.globalStep() == 1) {
                            norm.muli(Float.NaN); // step 2 sees NaN weights
                        } else if (state.globalStep() == 2) {
                            norm.set(new ai.djl.ndarray.index.NDIndex("..."), manager.create(good));
                        }
                    }
                }
            });
            TrainResult result = trainer.train(Synthetic.pairs(16, 1), null);
            assertEquals(4, result.globalStep());
            List<Map<String, Object>> lines = MetricsWriter.read(out.resolve(MetricsWriter.FILE));
            // step 2 was skipped: nothing logged for it, and its lr was never applied
            assertEquals(List.of(1L, 3L, 4L), lines.stream().map(l -> l.get("step")).toList());
            for (Map<String, Object> line : lines) {
                assertTrue(Double.isFinite((Double) line.get("loss")), line.toString());
            }
            assertFalse(Files.exists(out.resolve("checkpoint-4")));
        }
    }
}
