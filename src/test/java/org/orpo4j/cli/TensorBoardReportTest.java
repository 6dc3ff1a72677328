package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.tracking.TrackingPython;
import org.orpo4j.train.CheckpointManager;
import org.orpo4j.train.MetricsWriter;
import org.orpo4j.train.OrpoConfig;

/**
 * Acceptance 1 of issue 29: TensorBoard's own reader (tensorboard 2.21's EventAccumulator, pinned in
 * src/test/python/tracking) reads {@code --report-to tensorboard}'s event files: every metrics.jsonl value at its
 * step under HF's tag (as float32, the format's scalar), the samples as a text table equal to samples.jsonl, the
 * settings as hparams; and a run killed with SIGKILL past its checkpoint and resumed holds every step once, in the
 * files themselves and in what the reader shows.
 */
class TensorBoardReportTest {

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

    private static List<String> train(Path out, String... extra) {
        return trainArgs(model, train, heldout, out, extra);
    }

    /** {@code train} logging every step, evaluating and generating 2 samples every 2 steps, and {@code extra}. */
    static List<String> trainArgs(Path model, Path train, Path heldout, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", train.toString(),
                "--eval-data", heldout.toString(), "--output", out.toString(), "--batch-size", "4", "--lr", "1e-2",
                "--log-every", "1", "--eval-strategy", "steps", "--eval-steps", "2", "--generate-during-eval",
                "--generate-samples", "2", "--generate-max-new-tokens", "6"));
        args.addAll(Arrays.asList(extra));
        return args;
    }

    @Test
    void tensorBoardsReaderSeesTheMetricsSamplesAndSettings() throws Exception {
        Path out = tmp.resolve("tb");
        Cli.run(train(out, "--max-steps", "5", "--report-to", "tensorboard").toArray(String[]::new))
                .assertSuccess();
        Path run = onlyRun(out);
        assertTrue(run.getFileName().toString().matches("\\d{4}-\\d\\d-\\d\\d_\\d\\d-\\d\\d-\\d\\d_.+"), run.toString());
        JsonNode seen = TrackingPython.json("tensorboard_events.py", run.toString());

        assertScalarsMatch(out, seen);
        assertSamplesMatch(out, seen, List.of(2L, 4L, 5L));
        JsonNode hparams = seen.get("hparams").get("_hparams_/session_start_info").get("hparams");
        OrpoConfig config = OrpoConfig.read(out.resolve(OrpoConfig.FILE));
        assertEquals(config.learningRate(), hparams.get("learningRate").asDouble());
        assertEquals(5, hparams.get("maxSteps").asInt());
        assertEquals("keep_end", hparams.get("truncationMode").asText());
        assertTrue(hparams.get("generateDuringEval").asBoolean());
        assertEquals(config.toJson().size(), hparams.size());
        JsonNode args = seen.get("texts").get("args").get(0);
        assertEquals(0, args.get(0).asInt());
        assertEquals(config, OrpoConfig.fromJson(args.get(1).get(0).asText(), "the args text"));
        assertNoStepTwice(seen);
    }

    /**
     * A run killed (SIGKILL) after logging step 4 past checkpoint-3 and resumed from it: the first file keeps steps up
     * to 3, the second starts with a SessionLog START at 4, and every (tag, step) is written once.
     */
    @Test
    void aRunResumedAfterAKillAppendsWithoutDuplicateSteps() throws Exception {
        Path out = tmp.resolve("killed");
        List<String> args = train(out, "--max-steps", "8", "--save-every", "3", "--report-to", "tensorboard");
        Process child = new ProcessBuilder(Cli.childCommand(args)).redirectErrorStream(true).start();
        child.getOutputStream().close();
        StringBuilder seenLines = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                seenLines.append(line).append('\n');
                if (line.contains("step 5/8")) {
                    child.destroyForcibly(); // SIGKILL: no shutdown hook, no flush beyond what was written
                    break;
                }
            }
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertTrue(seenLines.toString().contains("step 5/8"), seenLines.toString());
        long checkpoint = Long.parseLong(CheckpointManager.latest(out).orElseThrow().getFileName().toString()
                .substring("checkpoint-".length()));
        JsonNode before = TrackingPython.json("tensorboard_events.py", onlyRun(out).toString());
        long loggedBefore = 0;
        for (JsonNode point : before.get("scalars").get("train/loss")) {
            loggedBefore = Math.max(loggedBefore, point.get(0).asLong());
        }
        assertEquals(3, checkpoint, "the kill came before checkpoint-6");
        assertTrue(loggedBefore > checkpoint, "steps past the checkpoint were logged before the kill: " + loggedBefore);

        Cli.run(train(out, "--max-steps", "8", "--save-every", "3", "--report-to", "tensorboard", "--resume")
                .toArray(String[]::new)).assertSuccess();
        Path run = onlyRun(out);
        JsonNode seen = TrackingPython.json("tensorboard_events.py", run.toString());
        assertEquals(2, seen.get("versions").size(), seen.get("versions").toString());
        seen.get("versions").forEach(v -> assertEquals("brain.Event:2", v.asText()));
        assertEquals(List.of(checkpoint + 1), toLongs(seen.get("starts")));
        assertScalarsMatch(out, seen);
        assertSamplesMatch(out, seen, List.of(2L, 4L, 6L, 8L));
        assertNoStepTwice(seen);
        String firstFile = seen.get("raw").get(0).get(0).asText();
        for (JsonNode raw : seen.get("raw")) {
            long step = raw.get(2).asLong();
            assertEquals(step <= checkpoint, raw.get(0).asText().equals(firstFile), raw.toString());
        }
    }

    /** Every metrics.jsonl value, under HF's tag, at its steps in order, as float32; no other scalar. */
    static void assertScalarsMatch(Path out, JsonNode seen) throws Exception {
        Map<String, TreeMap<Long, Double>> expected = TrackedValues.of(out.resolve("metrics.jsonl"));
        JsonNode scalars = seen.get("scalars");
        Set<String> tags = new HashSet<>();
        scalars.fieldNames().forEachRemaining(tags::add);
        Set<String> expectedTags = new HashSet<>();
        expected.keySet().forEach(k -> expectedTags.add(k.startsWith("eval_") ? "eval/" + k.substring(5) : "train/" + k));
        assertEquals(expectedTags, tags);
        assertTrue(tags.containsAll(List.of("train/loss", "train/rewards/chosen", "train/learning_rate",
                "train/grad_norm", "eval/loss", "eval/rewards/accuracies")), tags.toString());
        expected.forEach((key, steps) -> {
            String tag = key.startsWith("eval_") ? "eval/" + key.substring(5) : "train/" + key;
            List<Long> stepsSeen = new ArrayList<>();
            List<Float> valuesSeen = new ArrayList<>();
            scalars.get(tag).forEach(p -> {
                stepsSeen.add(p.get(0).asLong());
                valuesSeen.add((float) p.get(1).asDouble());
            });
            assertEquals(new ArrayList<>(steps.keySet()), stepsSeen, tag);
            assertEquals(steps.values().stream().map(Double::floatValue).toList(), valuesSeen, tag);
        });
    }

    /** The eval/samples table at each evaluation: a header row, then samples.jsonl's lines of that step. */
    static void assertSamplesMatch(Path out, JsonNode seen, List<Long> evalSteps) throws Exception {
        JsonNode tables = seen.get("texts").get("eval/samples");
        assertEquals(evalSteps, stepsOf(tables));
        for (JsonNode table : tables) {
            long step = table.get(0).asLong();
            List<Map<String, Object>> lines = TrackedValues.samples(out.resolve("samples.jsonl"), step);
            assertEquals(2, lines.size());
            assertEquals(List.of(3, 4), toInts(table.get(2)));
            List<String> cells = new ArrayList<>();
            table.get(1).forEach(c -> cells.add(c.asText()));
            List<String> want = new ArrayList<>(List.of("**prompt**", "**chosen**", "**rejected**", "**completion**"));
            for (Map<String, Object> line : lines) {
                for (String column : List.of("prompt", "chosen", "rejected", "completion")) {
                    want.add((String) line.get(column));
                }
            }
            assertEquals(want, cells, "step " + step);
        }
        assertEquals(2 * evalSteps.size(), MetricsWriter.read(out.resolve("samples.jsonl")).size());
    }

    /** No tag holds one step twice in the files (what a reader without purging would show). */
    static void assertNoStepTwice(JsonNode seen) {
        Set<String> once = new HashSet<>();
        for (JsonNode raw : seen.get("raw")) {
            assertTrue(once.add(raw.get(1).asText() + "@" + raw.get(2).asLong()), "twice: " + raw);
        }
    }

    static Path onlyRun(Path out) throws Exception {
        try (Stream<Path> runs = Files.list(out.resolve("runs"))) {
            List<Path> all = runs.toList();
            assertEquals(1, all.size(), all.toString());
            return all.get(0);
        }
    }

    private static List<Long> stepsOf(JsonNode tables) {
        List<Long> steps = new ArrayList<>();
        tables.forEach(t -> steps.add(t.get(0).asLong()));
        return steps;
    }

    private static List<Long> toLongs(JsonNode node) {
        List<Long> out = new ArrayList<>();
        node.forEach(n -> out.add(n.asLong()));
        return out;
    }

    private static List<Integer> toInts(JsonNode node) {
        List<Integer> out = new ArrayList<>();
        node.forEach(n -> out.add(n.asInt()));
        return out;
    }
}
