package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.orpo4j.train.OrpoConfig;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/** The command set, the flag names of the issue (a contract) and the exit codes of bad usage. */
class MainTest {

    /** Every command and flag issue 6 lists, spelled exactly. */
    private static final Map<String, List<String>> CONTRACT = Map.of(
            "train", List.of("--model", "--data", "--output", "--eval-data", "--config", "--max-steps", "--epochs",
                    "--batch-size", "--grad-accum", "--lr", "--beta", "--alpha", "--warmup-steps", "--warmup-ratio",
                    "--scheduler", "--weight-decay", "--max-grad-norm", "--max-length", "--max-prompt-length",
                    "--max-completion-length", "--truncation", "--no-prompt-loss", "--no-shuffle", "--seed",
                    "--log-every", "--eval-every", "--save-every", "--save-total-limit", "--resume"),
            "eval", List.of("--model", "--data", "--batch-size", "--max-length", "--max-prompt-length"),
            "generate", List.of("--model", "--prompt", "--chat", "--max-new-tokens", "--temperature", "--top-p",
                    "--seed"),
            "chat-template", List.of("--model", "--messages", "--add-generation-prompt"),
            "init", List.of("--family", "--tokenizer", "--output"),
            "merge", List.of("--model", "--adapter", "--output"),
            "demo", List.of());

    @Test
    void everyCommandHasTheContractFlagsHelpAndVerbose() {
        CommandLine cli = Main.newCommandLine();
        for (Map.Entry<String, List<String>> e : CONTRACT.entrySet()) {
            CommandLine sub = cli.getSubcommands().get(e.getKey());
            assertNotNull(sub, "command " + e.getKey());
            for (String flag : e.getValue()) {
                assertNotNull(sub.getCommandSpec().findOption(flag), e.getKey() + " " + flag);
            }
            for (String flag : List.of("--help", "--verbose")) {
                assertNotNull(sub.getCommandSpec().findOption(flag), e.getKey() + " " + flag);
            }
            Cli.Result help = Cli.run(e.getKey(), "--help").assertSuccess();
            assertTrue(help.out().startsWith("Usage: orpo4j " + e.getKey()), help.out());
            e.getValue().forEach(flag -> assertTrue(help.out().contains(flag), e.getKey() + " help lists " + flag));
        }
    }

    /** "Default: X" in a train flag's help is the default of the OrpoConfig knob it names, so the two cannot drift. */
    @Test
    void trainHelpDefaultsAreOrpoConfigDefaults() {
        JsonNode defaults = OrpoConfig.builder().build().toJson();
        Pattern knobAndDefault = Pattern.compile("\\((\\w+)(?:, [^)]*)?\\)\\. Default: (.+)\\.$");
        int checked = 0;
        for (OptionSpec option : Main.newCommandLine().getSubcommands().get("train").getCommandSpec().options()) {
            Matcher m = knobAndDefault.matcher(String.join(" ", option.description()));
            if (!m.find()) {
                assertFalse(String.join(" ", option.description()).contains("Default:"), option.longestName());
                continue;
            }
            JsonNode value = defaults.get(m.group(1));
            assertNotNull(value, option.longestName() + " names knob " + m.group(1));
            String shown = m.group(2);
            if (value.isNull()) {
                assertTrue(shown.equals("none") || shown.equals("all"), option.longestName() + ": " + shown);
            } else if (value.isNumber()) {
                assertEquals(value.asDouble(), Double.parseDouble(shown), option.longestName());
            } else if (value.isArray()) {
                java.util.List<String> items = new java.util.ArrayList<>();
                value.forEach(v -> items.add(v.asText()));
                assertEquals(String.join(",", items), shown, option.longestName());
            } else {
                assertEquals(value.asText(), shown, option.longestName());
            }
            checked++;
        }
        long withDefaults = SettingOptions.train().flags().values().stream()
                .filter(f -> f.style() != org.orpo4j.train.Setting.Flag.Style.SETS_TRUE
                        && f.style() != org.orpo4j.train.Setting.Flag.Style.SETS_FALSE).count();
        assertEquals(withDefaults, checked, "every valued flag of the settings table shows its default");
        assertTrue(checked >= 29, "checked " + checked);
    }

    @Test
    void topLevelHelpListsTheCommands() {
        Cli.Result help = Cli.run("--help").assertSuccess();
        for (String command : CONTRACT.keySet()) {
            assertTrue(help.out().contains("  " + command + " "), "help lists " + command + ":\n" + help.out());
        }
    }

    @Test
    void noCommandIsBadUsage() {
        Cli.run().assertOneLineError(2, "missing command", "orpo4j --help");
    }

    @Test
    void unknownCommandIsBadUsage() {
        Cli.run("fly").assertOneLineError(2, "fly");
    }

    /** A typo is named and the nearest names suggested, before any missing required option is complained about. */
    @Test
    void typosAreNamedWithSuggestions() {
        Cli.run("train", "--modle", "tiny").assertOneLineError(2, "unknown option '--modle'",
                "did you mean '--model'?", "orpo4j train --help");
        Cli.run("trian", "--model", "x").assertOneLineError(2, "unknown command 'trian'", "did you mean 'train'?",
                "the commands are train, eval, generate, chat-template, init, merge, demo");
        Cli.run("train", "--model=x", "--data", "d", "--output", "o", "--lrr", "3")
                .assertOneLineError(2, "unknown option '--lrr'", "did you mean '--lr'?");
    }

    @Test
    void unknownFlagIsBadUsage() {
        Cli.run("demo", "--speed", "9").assertOneLineError(2, "--speed", "orpo4j demo --help");
    }

    @Test
    void verbosePrintsTheStackTraceOfAFailure() {
        Cli.Result r = Cli.run("chat-template", "--model", "/no/such/folder", "--messages", "m.json", "--verbose");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("orpo4j chat-template: error: no such file or folder: /no/such/folder"), r.err());
        assertTrue(r.err().contains("\tat org.orpo4j.cli."), r.err());
    }
}
