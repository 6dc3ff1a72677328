package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.orpo4j.train.OrpoConfig;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The reference pages cannot fall behind the code: every knob with its default, every command flag. */
class DocsTest {

    @Test
    void configurationMdHasEveryKnobWithItsDefault() throws Exception {
        String doc = Files.readString(Path.of("docs/configuration.md"));
        JsonNode defaults = OrpoConfig.builder().build().toJson();
        for (Iterator<Map.Entry<String, JsonNode>> it = defaults.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> knob = it.next();
            Optional<String> row = doc.lines().filter(l -> l.startsWith("| `" + knob.getKey() + "` |")).findFirst();
            assertTrue(row.isPresent(), "docs/configuration.md has no row for " + knob.getKey());
            String shown = row.get().split("\\|")[3].strip().split(" ")[0].replace("`", "");
            JsonNode value = knob.getValue();
            if (value.isNull()) {
                assertEquals("null", shown, knob.getKey());
            } else if (value.isNumber()) {
                assertEquals(value.asDouble(), Double.parseDouble(shown), knob.getKey());
            } else if (value.isArray()) {
                java.util.List<String> items = new java.util.ArrayList<>();
                value.forEach(v -> items.add(v.asText()));
                assertEquals(String.join(",", items), shown, knob.getKey());
            } else {
                assertEquals(value.asText(), shown, knob.getKey());
            }
        }
    }

    /** Each setting's row in docs/configuration.md names the flag the settings table gives it. */
    @Test
    void configurationMdNamesEachSettingsFlag() throws Exception {
        String doc = Files.readString(Path.of("docs/configuration.md"));
        int checked = 0;
        for (org.orpo4j.train.Setting<?> s : org.orpo4j.train.Settings.ALL) {
            if (s.flag() == null) {
                continue;
            }
            Optional<String> row = doc.lines().filter(l -> l.startsWith("| `" + s.key() + "` |")
                    || l.startsWith("| `" + s.key() + "`, ")).findFirst();
            assertTrue(row.isPresent(), "docs/configuration.md has no row for " + s.key());
            assertTrue(row.get().contains("`" + s.flag().name()), s.key() + " row names " + s.flag().name());
            checked++;
        }
        assertTrue(checked >= 35, "checked " + checked);
    }

    /** init's help and docs/cli.md name the families that tie their head by default, as the model code knows them. */
    @Test
    void tiedDefaultsAgreeInHelpDocsAndCode() throws Exception {
        String tied = String.join(", ", org.orpo4j.model.ModelConfig.tiedByDefault());
        OptionSpec option = Main.newCommandLine().getSubcommands().get("init").getCommandSpec()
                .findOption("--tie-word-embeddings");
        assertTrue(String.join(" ", option.description()).contains("(tied: " + tied + ")"),
                String.join(" ", option.description()));
        assertTrue(Files.readString(Path.of("docs/cli.md")).contains("| the family's: on for " + tied + " |"), tied);
    }

    @Test
    void cliMdDocumentsEveryFlagOfEveryCommand() throws Exception {
        String doc = Files.readString(Path.of("docs/cli.md"));
        for (Map.Entry<String, CommandLine> command : Main.newCommandLine().getSubcommands().entrySet()) {
            if (command.getKey().equals("help")) {
                continue;
            }
            int start = doc.indexOf("\n## " + command.getKey() + "\n");
            assertTrue(start >= 0, "docs/cli.md has a section " + command.getKey());
            int end = doc.indexOf("\n## ", start + 1);
            String section = doc.substring(start, end < 0 ? doc.length() : end);
            for (OptionSpec option : command.getValue().getCommandSpec().options()) {
                String name = option.longestName();
                if (!option.hidden() && !name.equals("--help") && !name.equals("--version") && !name.equals("--verbose")) {
                    assertTrue(section.contains("| `" + name), command.getKey() + " " + name + " in docs/cli.md");
                }
            }
        }
    }

    /** The README's Java programs are the example files verbatim, so they compile as printed (ExamplesTest runs them). */
    @Test
    void readmeShowsTheExamplesAsTheyStand() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int start = readme.indexOf("\n## Train from Java\n");
        String section = readme.substring(start, readme.indexOf("\n## ", start + 1));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("```java\n(.*?)```", java.util.regex.Pattern.DOTALL)
                .matcher(section);
        for (String example : new String[] {"TinyModel", "QuickStart"}) {
            assertTrue(m.find(), "README block for " + example);
            assertEquals(Files.readString(Path.of("examples/org/orpo4j/examples/" + example + ".java")), m.group(1),
                    example);
        }
    }

    /** The demo report quoted in README.md and docs/cli.md is one run's, line for line. */
    @Test
    void readmeAndCliMdQuoteTheSameDemoRun() throws Exception {
        java.util.function.Function<String, java.util.List<String>> report = text -> text.lines()
                .filter(l -> l.matches("  (eval_|greedy answers).*->.*")).toList();
        java.util.List<String> readme = report.apply(Files.readString(Path.of("README.md")));
        assertEquals(5, readme.size(), readme.toString());
        assertEquals(readme, report.apply(Files.readString(Path.of("docs/cli.md"))).stream()
                .filter(l -> !l.startsWith("  eval_nll_loss")).toList());
    }
}
