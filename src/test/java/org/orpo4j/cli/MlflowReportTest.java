package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.data.HfTokenizer;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.tracking.MlflowServer;
import org.orpo4j.tracking.Trackers;
import org.orpo4j.tracking.TrackingPython;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.PairSource;
import org.orpo4j.train.Settings;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * Acceptance 2 (and 3's "samples in both trackers") of issue 29, against a real MLflow tracking server (mlflow 3.17
 * from PyPI, pinned, SQLite backend, on loopback) read back with MLflow's Python client: the run, its params (every
 * setting), every metrics.jsonl value at every step, the samples table and the output folder's files as artifacts;
 * a server killed mid-run and started again does not stop training, and what it missed arrives.
 */
class MlflowReportTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path heldout;
    static MlflowServer server;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        train = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
        heldout = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
        server = MlflowServer.start(tmp.resolve("mlflow"));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    /**
     * The server is killed after step 3 and started again after step 6 (the trainer waits for it there, so the
     * outage spans the logs of steps 3 to 5 and the evaluation and samples of step 4); the run ends with everything.
     */
    @Test
    void aRunSurvivesAServerOutageAndEverythingArrives() throws Exception {
        Path out = tmp.resolve("outage");
        OrpoConfig config = OrpoConfig.builder().outputDir(out.toString()).learningRate(1e-2).maxSteps(8)
                .perDeviceTrainBatchSize(4).perDeviceEvalBatchSize(4).loggingSteps(1).evalStrategy("steps")
                .evalSteps(2).saveSteps(4).set(Settings.REPORT_TO, List.of("mlflow"))
                .set(Settings.RUN_NAME, "outage").set(Settings.GENERATE_DURING_EVAL, true)
                .set(Settings.GENERATE_SAMPLES, 2).set(Settings.GENERATE_MAX_NEW_TOKENS, 6).build();
        List<Long> downAt = new ArrayList<>();
        TrainerListener outage = new TrainerListener() {
            @Override
            public void onStep(TrainerState state, TrainerControl control) {
                try {
                    if (state.globalStep() == 3) {
                        server.stop();
                        downAt.add(state.globalStep());
                    } else if (state.globalStep() == 6) {
                        server.start();
                        downAt.add(state.globalStep());
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        };
        try (Trackers trackers = Trackers.open(config, Map.of("MLFLOW_TRACKING_URI", server.uri(),
                "MLFLOW_EXPERIMENT_NAME", "orpo4j-outage"));
                HfTokenizer tokenizer = HfTokenizer.load(model);
                NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.load(model, manager)) {
            OrpoTrainer trainer = new OrpoTrainer(lm, config).tokenizerDir(model).addListener(outage);
            trackers.listeners().forEach(trainer::addListener);
            trainer.train(PairSource.of(TrainData.load(List.of(train), tokenizer, config.dataOptions(),
                    new java.util.LinkedHashMap<>())), PairSource.of(TrainData.load(List.of(heldout), tokenizer,
                    config.dataOptions(), new java.util.LinkedHashMap<>())));
        }
        assertEquals(List.of(3L, 6L), downAt);
        JsonNode run = TrackingPython.json("mlflow_run.py", server.uri(), "orpo4j-outage", "outage");
        assertRunHoldsEverything(out, run, OrpoConfig.read(out.resolve(OrpoConfig.FILE)));
    }

    /**
     * The CLI with both trackers and MLflow's variables: one run named by --run-name in MLFLOW_EXPERIMENT_NAME, the
     * samples in the MLflow table and in TensorBoard's text, each equal to samples.jsonl.
     */
    @Test
    void theCliReportsToBothTrackersWithTheSamples() throws Exception {
        Path out = tmp.resolve("cli");
        List<String> args = TensorBoardReportTest.trainArgs(model, train, heldout, out, "--max-steps", "4",
                "--report-to", "tensorboard,mlflow", "--run-name", "from-the-cli");
        ProcessBuilder child = new ProcessBuilder(Cli.childCommand(args)).redirectErrorStream(true);
        child.environment().put("MLFLOW_TRACKING_URI", server.uri());
        child.environment().put("MLFLOW_EXPERIMENT_NAME", "orpo4j-cli");
        Process p = child.start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("trained 4 steps"), output);
        JsonNode run = TrackingPython.json("mlflow_run.py", server.uri(), "orpo4j-cli", "from-the-cli");
        assertRunHoldsEverything(out, run, OrpoConfig.read(out.resolve(OrpoConfig.FILE)));
        JsonNode tensorBoard = TrackingPython.json("tensorboard_events.py",
                TensorBoardReportTest.onlyRun(out).toString());
        TensorBoardReportTest.assertSamplesMatch(out, tensorBoard, List.of(2L, 4L));
        TensorBoardReportTest.assertScalarsMatch(out, tensorBoard);
    }

    /** Training that throws ends its MLflow run FAILED, with what it logged before; no artifacts are uploaded. */
    @Test
    void aRunThatThrowsEndsFailedWithWhatItLogged() throws Exception {
        Path out = tmp.resolve("thrown");
        OrpoConfig config = OrpoConfig.builder().outputDir(out.toString()).learningRate(1e-2).maxSteps(6)
                .perDeviceTrainBatchSize(4).loggingSteps(1).set(Settings.REPORT_TO, List.of("mlflow"))
                .set(Settings.RUN_NAME, "thrown").build();
        TrainerListener failing = new TrainerListener() {
            @Override
            public void onStep(TrainerState state, TrainerControl control) {
                if (state.globalStep() == 3) {
                    throw new IllegalStateException("a listener failed at step 3");
                }
            }
        };
        try (Trackers trackers = Trackers.open(config, Map.of("MLFLOW_TRACKING_URI", server.uri(),
                "MLFLOW_EXPERIMENT_NAME", "orpo4j-thrown"));
                HfTokenizer tokenizer = HfTokenizer.load(model);
                NDManager manager = DjlRuntime.newManager(DjlRuntime.defaultDevice());
                CausalLm lm = CausalLm.load(model, manager)) {
            OrpoTrainer trainer = new OrpoTrainer(lm, config).tokenizerDir(model);
            trackers.listeners().forEach(trainer::addListener);
            trainer.addListener(failing);
            PairSource pairs = PairSource.of(TrainData.load(List.of(train), tokenizer, config.dataOptions(),
                    new java.util.LinkedHashMap<>()));
            IllegalStateException thrown = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> trainer.train(pairs, null));
            assertEquals("a listener failed at step 3", thrown.getMessage());
        }
        JsonNode run = TrackingPython.json("mlflow_run.py", server.uri(), "orpo4j-thrown", "thrown");
        assertEquals("FAILED", run.get("run").get("status").asText());
        List<Long> steps = new ArrayList<>();
        run.get("metrics").get("loss").forEach(m -> steps.add(m.get(0).asLong()));
        assertEquals(List.of(1L, 2L), steps); // step 3 threw before its log
        assertEquals(0, run.get("artifacts").size(), run.get("artifacts").toString());
    }

    /** Status, params, every value at every step, the artifacts and the samples table of a finished run. */
    static void assertRunHoldsEverything(Path out, JsonNode run, OrpoConfig config) throws Exception {
        assertEquals("FINISHED", run.get("run").get("status").asText());
        JsonNode params = run.get("params");
        assertEquals(config.toJson().size(), params.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = config.toJson().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String expected = e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString();
            assertEquals(expected, params.get(e.getKey()).asText(), e.getKey());
        }

        Map<String, TreeMap<Long, Double>> expected = TrackedValues.of(out.resolve("metrics.jsonl"));
        JsonNode metrics = run.get("metrics");
        List<String> keys = new ArrayList<>();
        metrics.fieldNames().forEachRemaining(keys::add);
        assertEquals(new java.util.TreeSet<>(expected.keySet()), new java.util.TreeSet<>(keys));
        expected.forEach((key, steps) -> {
            List<Long> stepsSeen = new ArrayList<>();
            List<Double> valuesSeen = new ArrayList<>();
            metrics.get(key).forEach(m -> {
                stepsSeen.add(m.get(0).asLong());
                valuesSeen.add(m.get(1).asDouble());
            });
            assertEquals(new ArrayList<>(steps.keySet()), stepsSeen, key);
            assertEquals(new ArrayList<>(steps.values()), valuesSeen, key);
        });
        assertTrue(expected.keySet().containsAll(List.of("loss", "rewards/chosen", "learning_rate", "grad_norm",
                "eval_loss", "eval_rewards/margins")), expected.keySet().toString());

        List<String> artifacts = new ArrayList<>();
        run.get("artifacts").forEach(a -> artifacts.add(a.asText()));
        assertTrue(artifacts.containsAll(List.of("model.safetensors", "config.json", "tokenizer.json",
                "tokenizer_config.json", "orpo_config.json", "metrics.jsonl", "samples.jsonl", "samples.json")),
                artifacts.toString());
        assertTrue(artifacts.stream().noneMatch(a -> a.startsWith("checkpoint-") || a.startsWith("runs/")
                || a.startsWith(".")), artifacts.toString());
        assertEquals("[{\"path\": \"samples.json\", \"type\": \"table\"}]",
                run.get("tags").get("mlflow.loggedArtifacts").asText());

        List<Map<String, Object>> lines = org.orpo4j.train.MetricsWriter.read(out.resolve("samples.jsonl"));
        JsonNode table = run.get("samples");
        assertEquals(lines.size(), table.size());
        assertTrue(lines.size() >= 4, lines.toString());
        for (int i = 0; i < lines.size(); i++) {
            for (String column : List.of("step", "index", "prompt", "chosen", "rejected", "completion")) {
                assertEquals(String.valueOf(lines.get(i).get(column)), table.get(i).get(column).asText(),
                        column + " of sample " + i);
            }
        }
    }
}
