package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.train.MetricsWriter;

/**
 * Acceptance 3 of issue 29: with HF's flags ({@code --eval-strategy steps --eval-steps 2}) the eval_ metrics logged
 * at each evaluation equal a separate {@code orpo4j eval} of the checkpoint saved at that step (1e-6 relative), and
 * with {@code --generate-during-eval} each sample's completion is what a separate {@code orpo4j generate} of that
 * checkpoint answers to the same chat.
 */
class EvalDuringTrainingTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void evalMetricsAndSamplesAreThoseOfTheCheckpointAtTheirStep() throws Exception {
        Path model = Cli.tinyModel(tmp);
        Path train = Cli.demoData(tmp, DemoAssets.TRAIN, 16);
        Path heldout = Cli.demoData(tmp, DemoAssets.HELDOUT, 6);
        Path out = tmp.resolve("run");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--eval-data", heldout.toString(),
                "--output", out.toString(), "--batch-size", "4", "--lr", "2e-2", "--max-steps", "6", "--log-every", "3",
                "--eval-strategy", "steps", "--eval-steps", "2", "--save-every", "2", "--generate-during-eval",
                "--generate-samples", "2", "--generate-max-new-tokens", "8").assertSuccess();

        List<Map<String, Object>> evals = MetricsWriter.read(out.resolve("metrics.jsonl")).stream()
                .filter(l -> l.containsKey("eval_loss")).toList();
        assertEquals(List.of(2L, 4L, 6L), evals.stream().map(l -> l.get("step")).toList());
        List<String> heldoutRows = Files.readAllLines(heldout);
        List<String> completions = new ArrayList<>();
        for (Map<String, Object> logged : evals) {
            long step = (Long) logged.get("step");
            Path checkpoint = out.resolve("checkpoint-" + step);
            Cli.Result eval = Cli.run("eval", "--model", checkpoint.toString(), "--data", heldout.toString(),
                    "--batch-size", "4").assertSuccess();
            JsonNode separate = JSON.readTree(eval.out());
            int compared = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = separate.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> m = it.next();
                if (m.getKey().equals("eval_samples")) {
                    continue;
                }
                double during = ((Number) logged.get(m.getKey())).doubleValue();
                assertEquals(m.getValue().asDouble(), during, 1e-6 * Math.abs(m.getValue().asDouble()),
                        m.getKey() + " at step " + step);
                compared++;
            }
            assertTrue(compared >= 10, "eval_ metrics compared: " + compared);

            List<Map<String, Object>> samples = TrackedValues.samples(out.resolve("samples.jsonl"), step);
            assertEquals(2, samples.size());
            for (int i = 0; i < 2; i++) {
                Map<String, Object> sample = samples.get(i);
                assertEquals((long) i, sample.get("index"));
                JsonNode row = JSON.readTree(heldoutRows.get(i));
                String system = row.get("prompt").get(0).get("content").asText();
                String user = row.get("prompt").get(1).get("content").asText();
                assertTrue(((String) sample.get("prompt")).contains(user), sample.toString());
                assertEquals(row.get("chosen").get(0).get("content").asText(), ((String) sample.get("chosen")).strip());
                assertEquals(row.get("rejected").get(0).get("content").asText(),
                        ((String) sample.get("rejected")).strip());
                Cli.Result generated = Cli.run("generate", "--model", checkpoint.toString(), "--chat", "--system",
                        system, "--prompt", user, "--max-new-tokens", "8").assertSuccess();
                assertEquals(generated.out().stripTrailing(), sample.get("completion"), "sample " + i + " at step " + step);
                completions.add((String) sample.get("completion"));
            }
        }
        assertTrue(completions.stream().distinct().count() > 1, "the samples change as the model trains: " + completions);

        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output",
                tmp.resolve("no-eval").toString(), "--generate-during-eval").assertOneLineError(2,
                        "--generate-during-eval needs held-out prompts: --eval-data FILE or --eval-split SPLIT");
    }
}
