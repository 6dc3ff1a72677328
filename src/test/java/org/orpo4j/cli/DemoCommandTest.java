package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.train.MetricsWriter;

/**
 * The demo end to end with fewer steps than its default (CI time); the full run's figures are in docs/cli.md.
 * 80 steps already take held-out reward accuracy from about 0.1 to 1.0 with the fixed seed.
 */
class DemoCommandTest {

    @TempDir
    Path tmp;

    @Test
    void trainsAndReportsBeforeAndAfterWithAChart() throws Exception {
        Path out = tmp.resolve("demo");
        Cli.Result r = Cli.run("demo", "--output", out.toString(), "--max-steps", "80").assertSuccess();

        List<Map<String, Object>> lines = MetricsWriter.read(out.resolve("trained-model").resolve(MetricsWriter.FILE));
        Map<String, Object> lastEval = lines.stream().filter(l -> l.containsKey("eval_loss")).reduce((a, b) -> b)
                .orElseThrow();
        assertEquals(80L, lastEval.get("step"));
        double accuracy = (Double) lastEval.get("eval_rewards/accuracies");
        assertTrue(accuracy >= 0.9, "held-out accuracy " + accuracy);
        assertTrue((Double) lastEval.get("eval_rewards/margins") > 0.1, "margin " + lastEval);

        String report = r.out();
        String accuracyLine = report.lines().filter(l -> l.contains("eval_rewards/accuracies")).findFirst().orElseThrow();
        assertTrue(accuracyLine.strip().endsWith(String.format(Locale.ROOT, "-> %.4f", accuracy)), accuracyLine);
        String styleLine = report.lines().filter(l -> l.contains("opening like a chosen answer")).findFirst()
                .orElseThrow();
        int chosenLike = Integer.parseInt(styleLine.replaceAll(".*-> (\\d+)/60$", "$1"));
        assertTrue(chosenLike >= 54, styleLine); // the preferred style won in generation too
        List<String> before = report.lines().filter(l -> l.startsWith("  before: ")).toList();
        List<String> after = report.lines().filter(l -> l.startsWith("  after:  ")).toList();
        assertEquals(3, before.size(), report);
        assertEquals(3, after.size(), report);
        for (int i = 0; i < 3; i++) {
            assertNotEquals(before.get(i).substring(10), after.get(i).substring(10));
        }
        assertTrue(report.endsWith(Files.readString(out.resolve("report.txt"))), "report.txt is the report");

        BufferedImage chart = ImageIO.read(out.resolve("training_curves.png").toFile());
        assertEquals(1120, chart.getWidth()); // 2 x 2 panels of 560 x 380
        assertEquals(760, chart.getHeight());
        assertTrue(Files.exists(out.resolve("trained-model").resolve("model.safetensors")));
        assertTrue(Files.exists(out.resolve("base-model").resolve("model.safetensors")));

        Cli.run("demo", "--output", out.toString(), "--max-steps", "3").assertSuccess(); // a second demo just works
        List<Map<String, Object>> again = MetricsWriter.read(out.resolve("trained-model").resolve(MetricsWriter.FILE));
        assertEquals(3L, again.get(again.size() - 1).get("step"), "the second run replaced the first");
    }

    /** A folder holding anything but an earlier demo is refused, untouched. */
    @Test
    void aFolderThatIsNotADemosIsRefused() throws Exception {
        Path mine = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "keep me");
        Cli.run("demo", "--output", mine.toString(), "--max-steps", "2").assertOneLineError(2,
                "orpo4j demo: error: --output " + mine + " holds files that are not a demo's");
        try (var files = Files.list(mine)) {
            assertEquals(List.of(mine.resolve("notes.txt")), files.toList());
        }
    }

    @Test
    void badUsage() {
        Cli.run("demo", "--max-steps", "0", "--output", tmp.toString()).assertOneLineError(2, "--max-steps");
        Cli.run("demo", "--max-steps", "many").assertOneLineError(2, "many");
        Cli.run("demo", "--threads", "0", "--output", tmp.toString()).assertOneLineError(2, "--threads");
    }
}
