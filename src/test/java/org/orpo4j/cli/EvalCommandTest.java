package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.NativeTests;

class EvalCommandTest {

    private static final List<String> TRL_NAMES = List.of("loss", "nll_loss", "log_odds_ratio", "log_odds_chosen",
            "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
            "logps/rejected", "logits/chosen", "logits/rejected");

    @TempDir
    static Path tmp;
    static Path model;
    static Path data;

    @BeforeAll
    static void setUp() throws Exception {
        model = Cli.tinyModel(tmp);
        data = Cli.demoData(tmp, DemoAssets.HELDOUT, 12);
    }

    private static JsonNode eval(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("eval", "--model", model.toString(), "--data", data.toString(),
                "--batch-size", "4")); // equal batches: eval_loss (weighted by pairs, as HF) is their mean too
        args.addAll(List.of(extra));
        Cli.Result r = Cli.run(args.toArray(String[]::new)).assertSuccess();
        assertEquals(1, r.out().lines().count(), r.out());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void printsOneJsonObjectOfEvalMetricsThatHangTogether() throws Exception {
        JsonNode m = eval();
        for (String name : TRL_NAMES) {
            assertTrue(m.get("eval_" + name).isNumber(), "eval_" + name + " in " + m);
            assertTrue(Double.isFinite(m.get("eval_" + name).asDouble()), name);
        }
        assertEquals(12, m.get("eval_samples").asInt());
        double acc = m.get("eval_rewards/accuracies").asDouble();
        assertTrue(acc >= 0 && acc <= 1, "accuracy " + acc);
        // metrics are means over batches, and each identity below is linear, so it holds for the means too
        assertEquals(m.get("eval_rewards/chosen").asDouble() - m.get("eval_rewards/rejected").asDouble(),
                m.get("eval_rewards/margins").asDouble(), 1e-6);
        assertEquals(0.1 * m.get("eval_logps/chosen").asDouble(), m.get("eval_rewards/chosen").asDouble(), 1e-6);
        assertEquals(m.get("eval_nll_loss").asDouble() - 0.1 * m.get("eval_log_odds_ratio").asDouble(),
                m.get("eval_loss").asDouble(), 1e-5);
        assertTrue(m.get("eval_logps/chosen").asDouble() < 0);
    }

    @Test
    void betaAndAlphaScaleTheRewardsAndTheOddsRatioTerm() throws Exception {
        JsonNode base = eval();
        JsonNode scaled = eval("--beta", "0.3", "--alpha", "2");
        assertEquals(3 * base.get("eval_rewards/margins").asDouble(), scaled.get("eval_rewards/margins").asDouble(),
                1e-6);
        assertEquals(base.get("eval_nll_loss").asDouble(), scaled.get("eval_nll_loss").asDouble(), 1e-6);
        assertEquals(scaled.get("eval_nll_loss").asDouble() - 0.6 * scaled.get("eval_log_odds_ratio").asDouble(),
                scaled.get("eval_loss").asDouble(), 1e-5);
    }

    /** {@code --attn-implementation sdpa}: the same metrics through torch's fused attention, to float32 rounding. */
    @Test
    void sdpaGivesTheEagerMetrics() throws Exception {
        NativeTests.assumeFusedAttention();
        JsonNode eager = eval();
        JsonNode sdpa = eval("--attn-implementation", "sdpa");
        for (String name : TRL_NAMES) {
            double want = eager.get("eval_" + name).asDouble();
            assertEquals(want, sdpa.get("eval_" + name).asDouble(), 1e-5 * Math.max(1, Math.abs(want)), name);
        }
        Cli.run("eval", "--model", model.toString(), "--data", data.toString(), "--attn-implementation", "flash")
                .assertOneLineError(2, "--attn-implementation", "flash");
    }

    @Test
    void aBadRowIsReportedWithFileAndLine() throws Exception {
        List<String> lines = Files.readAllLines(data);
        Path bad = tmp.resolve("bad.jsonl");
        Files.write(bad, List.of(lines.get(0), lines.get(1), "{\"prompt\": \"q\", \"chosen\": \"a\"", lines.get(2)));
        Cli.run("eval", "--model", model.toString(), "--data", bad.toString()).assertOneLineError(1, bad + ":3:");
        Path noRejected = tmp.resolve("norej.jsonl");
        Files.write(noRejected, List.of(lines.get(0), "{\"prompt\": \"q\", \"chosen\": \"a\"}"));
        Cli.run("eval", "--model", model.toString(), "--data", noRejected.toString())
                .assertOneLineError(1, noRejected + ":2:", "rejected");
        JsonNode skipped = new ObjectMapper().readTree(Cli.run("eval", "--model", model.toString(), "--data",
                bad.toString(), "--skip-bad-rows").assertSuccess().out());
        assertEquals(3, skipped.get("eval_samples").asInt()); // lines 1, 2 and 4
        Cli.run("eval", "--model", model.toString(), "--data", tmp.resolve("nothing.jsonl").toString())
                .assertOneLineError(1, "no such file or folder: " + tmp.resolve("nothing.jsonl"));
    }

    @Test
    void badUsage() {
        Cli.run("eval", "--model", model.toString()).assertOneLineError(2, "--data");
        Cli.run("eval", "--model", model.toString(), "--data", data.toString(), "--batch-size", "0")
                .assertOneLineError(2, "orpo4j eval: error: --batch-size 0 must be > 0");
        Cli.run("eval", "--model", model.toString(), "--data", data.toString(), "--max-length", "8",
                "--max-prompt-length", "16").assertOneLineError(2, "--max-prompt-length 16 must be in 1..8 (--max-length)");
    }
}
