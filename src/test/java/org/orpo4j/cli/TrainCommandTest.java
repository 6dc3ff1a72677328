package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.train.CheckpointManager;
import org.orpo4j.train.MetricsWriter;
import org.orpo4j.train.OrpoConfig;

class TrainCommandTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path heldout;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        train = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
        heldout = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
    }

    private static String[] train(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", train.toString(),
                "--output", out.toString()));
        args.addAll(Arrays.asList(extra));
        return args.toArray(String[]::new);
    }

    private static float[] weight(Path dir, String name) throws Exception {
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice()); CausalLm lm = CausalLm.load(dir, m)) {
            return lm.parameters().get(name).toFloatArray();
        }
    }

    /** A second run into a finished one is refused in one line, before orpo_config.json is rewritten. */
    @Test
    void aFinishedRunIsNotClobbered() throws Exception {
        Path out = tmp.resolve("finished");
        Cli.run(train(out, "--max-steps", "2", "--batch-size", "4", "--save-every", "1")).assertSuccess();
        String config = Files.readString(out.resolve("orpo_config.json"));
        Cli.run(train(out, "--max-steps", "3", "--lr", "0.5")).assertOneLineError(1, "already holds a training run",
                "continue it with --resume", "replace it with --overwrite-output-dir");
        assertEquals(config, Files.readString(out.resolve("orpo_config.json")));
        Cli.run(train(out, "--max-steps", "1", "--batch-size", "4", "--overwrite-output-dir")).assertSuccess();
        assertEquals(List.of(), CheckpointManager.list(out).stream().filter(p -> !p.endsWith("checkpoint-1"))
                .toList());
    }

    @Test
    void trainsWithFlagsOverTheConfigFileAndWritesMetricsCheckpointsAndTheModel() throws Exception {
        Path config = Files.writeString(tmp.resolve("orpo.json"),
                "{\"learning_rate\": 0.5, \"orpo_beta\": 0.25, \"maxSteps\": 100, \"per_device_train_batch_size\": 2}");
        Path out = tmp.resolve("run");
        Cli.Result r = Cli.run(train(out, "--config", config.toString(), "--lr", "1e-2", "--max-steps", "6",
                "--batch-size", "4", "--log-every", "2", "--eval-data", heldout.toString(), "--eval-every", "3",
                "--save-every", "3", "--save-total-limit", "1", "--no-shuffle")).assertSuccess();
        assertTrue(r.out().startsWith("trained 6 steps; model saved to " + out), r.out());

        OrpoConfig used = OrpoConfig.read(out.resolve("orpo_config.json"));
        assertEquals(1e-2, used.learningRate()); // flag over file
        assertEquals(6, used.maxSteps());
        assertEquals(4, used.perDeviceTrainBatchSize());
        assertEquals(0.25, used.beta()); // file over default
        assertFalse(used.shuffle());
        assertEquals("steps", used.evalStrategy());
        assertEquals(3, used.evalSteps());

        List<Map<String, Object>> lines = MetricsWriter.read(out.resolve(MetricsWriter.FILE));
        List<Map<String, Object>> trainLines = lines.stream().filter(l -> l.containsKey("loss")).toList();
        List<Map<String, Object>> evalLines = lines.stream().filter(l -> l.containsKey("eval_loss")).toList();
        assertEquals(List.of(2L, 4L, 6L), trainLines.stream().map(l -> l.get("step")).toList());
        assertEquals(List.of(3L, 6L), evalLines.stream().map(l -> l.get("step")).toList());
        // linear decay from 1e-2 over 6 steps, no warmup: the step logged as 2 ran at 0-based step 1
        assertEquals(1e-2 * 5 / 6, (Double) trainLines.get(0).get("learning_rate"), 1e-12);
        for (String key : List.of("nll_loss", "rewards/margins", "rewards/accuracies", "grad_norm", "epoch")) {
            assertTrue(trainLines.get(2).get(key) instanceof Double, key);
        }

        assertTrue(Files.isDirectory(out.resolve("checkpoint-6")));
        assertFalse(Files.exists(out.resolve("checkpoint-3"))); // --save-total-limit 1
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            assertTrue(Files.exists(out.resolve(file)), file);
        }
        assertFalse(Arrays.equals(weight(model, "model.norm.weight"), weight(out, "model.norm.weight")));
        assertTrue(r.out().contains("eval: eval_loss="), r.out());
        assertTrue(r.out().contains("train: loss="), r.out());
    }

    @Test
    void resumeContinuesFromTheNewestCheckpoint() throws Exception {
        Path out = tmp.resolve("resumed");
        Cli.run(train(out, "--max-steps", "4", "--batch-size", "4", "--save-every", "2", "--lr", "1e-2"))
                .assertSuccess();
        Cli.Result r = Cli.run(train(out, "--max-steps", "6", "--batch-size", "4", "--save-every", "2", "--lr",
                "1e-2", "--resume")).assertSuccess();
        assertTrue(r.out().startsWith("trained 6 steps"), r.out());
        assertEquals("latest", OrpoConfig.read(out.resolve("orpo_config.json")).resumeFromCheckpoint());
        assertTrue(Files.isDirectory(out.resolve("checkpoint-6")));
        Path named = tmp.resolve("named");
        Cli.Result fromNamed = Cli.run(train(named, "--max-steps", "5", "--batch-size", "4", "--lr", "1e-2",
                "--save-every", "100", "--resume", out.resolve("checkpoint-4").toString())).assertSuccess();
        assertTrue(fromNamed.out().startsWith("trained 5 steps"), fromNamed.out());
        assertNotEquals(OrpoConfig.builder().build().learningRate(),
                OrpoConfig.read(named.resolve("orpo_config.json")).learningRate());
    }

    @Test
    void badDataAndConfigFilesAreOneLineErrors() throws Exception {
        List<String> lines = Files.readAllLines(train);
        Path bad = tmp.resolve("bad.jsonl");
        Files.write(bad, List.of(lines.get(0), "{\"prompt\": \"q\", \"chosen\": 3, \"rejected\": \"r\"}"));
        Cli.run("train", "--model", model.toString(), "--data", bad.toString(), "--output",
                tmp.resolve("x").toString()).assertOneLineError(1, bad + ":2:", "chosen");
        Cli.run(train(tmp.resolve("y"), "--eval-data", bad.toString(), "--max-steps", "1"))
                .assertOneLineError(1, bad + ":2:");
        Cli.Result skipping = Cli.run("train", "--model", model.toString(), "--data", bad.toString(), "--output",
                tmp.resolve("skip").toString(), "--max-steps", "1", "--skip-bad-rows").assertSuccess();
        assertTrue(skipping.out().startsWith("trained 1 steps"), skipping.out());
        assertEquals(List.of("{\"file\":\"" + bad + "\",\"line\":2,\"field\":\"chosen\",\"reason\":\"expected a string or a"
                + " list of messages, got a number\"}"), Files.readAllLines(tmp.resolve("skip").resolve("skipped_rows.jsonl")));
        Path config = Files.writeString(tmp.resolve("c.json"), "{\"learningRate\": 1e-5, \"orpoGamma\": 1}");
        Cli.run(train(tmp.resolve("z"), "--config", config.toString())).assertOneLineError(1, "orpoGamma", config.toString());
        Path notJson = Files.writeString(tmp.resolve("c2.json"), "{learningRate: 1}");
        Cli.run(train(tmp.resolve("z"), "--config", notJson.toString())).assertOneLineError(1, notJson.toString());
        Cli.run("train", "--model", tmp.resolve("nope").toString(), "--data", train.toString(), "--output",
                tmp.resolve("z").toString()).assertOneLineError(1, "no such file or folder: " + tmp.resolve("nope"));
    }

    @Test
    void badUsage() {
        Path out = tmp.resolve("never");
        Cli.run("train", "--model", model.toString(), "--data", train.toString()).assertOneLineError(2, "--output");
        Cli.run(train(out, "--max-steps", "3", "--epochs", "1")).assertOneLineError(2, "--max-steps", "--epochs");
        Cli.run(train(out, "--warmup-steps", "3", "--warmup-ratio", "0.1"))
                .assertOneLineError(2, "--warmup-steps", "--warmup-ratio");
        Cli.run(train(out, "--scheduler", "step")).assertOneLineError(2, "step", "linear, cosine, constant");
        Cli.run(train(out, "--truncation", "middle")).assertOneLineError(2, "--truncation middle must be keep_end or"
                + " keep_start");
        Cli.run(train(out, "--lr", "-1")).assertOneLineError(2, "--lr -1 must be >= 0");
        Cli.run(train(out, "--grad-accum", "0")).assertOneLineError(2, "--grad-accum 0 must be > 0");
        Cli.run(train(out, "--warmup-ratio", "2")).assertOneLineError(2, "--warmup-ratio 2 must be in [0, 1]");
        Cli.run(train(out, "--lr", "fast")).assertOneLineError(2, "--lr", "fast");
        assertFalse(Files.exists(out));
    }
}
