package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.train.InvalidSettingException;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.Setting;
import org.orpo4j.train.Settings;

/**
 * Every setting of the table refuses a bad value before anything loads, with the same words from the library and
 * from the command line: {@code loraR = 0 must be > 0} from {@code OrpoConfig}, {@code --lora-r 0 must be > 0}
 * from {@code orpo4j train} (the model and data named there do not even exist, so nothing was read), and
 * {@code config FILE: key = value must be ...} for a setting only a config file sets.
 */
class SettingsTableTest {

    @TempDir
    static Path tmp;

    static Stream<Setting<?>> checked() {
        return Settings.ALL.stream().filter(s -> s.check().counterexample() != null);
    }

    @ParameterizedTest
    @MethodSource("checked")
    void aBadValueIsRefusedInTheSameWordsEverywhere(Setting<?> setting) throws Exception {
        String shown = shown(setting);
        String expected = setting.check().expected();
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> library(setting));
        assertEquals(setting.key() + " = " + shown + " must be " + expected, e.getMessage());

        Path out = tmp.resolve("never-" + setting.key());
        List<String> args = new ArrayList<>(List.of("train", "--model", tmp.resolve("no-model").toString(),
                "--data", tmp.resolve("no-data.jsonl").toString(), "--output", out.toString()));
        if (setting.flag() != null && setting.flag().paramLabel() != null) {
            args.addAll(List.of(setting.flag().name(), shown));
            Cli.run(args.toArray(String[]::new)).assertOneLineError(2, "orpo4j train: error: " + setting.flag().name()
                    + " " + shown + " must be " + expected + " (see 'orpo4j train --help')");
        } else {
            Path config = tmp.resolve(setting.key() + ".json");
            Files.writeString(config, "{\"" + setting.snakeName() + "\": "
                    + new ObjectMapper().writeValueAsString(setting.check().counterexample()) + "}");
            args.addAll(List.of("--config", config.toString()));
            Cli.run(args.toArray(String[]::new)).assertOneLineError(1, "orpo4j train: error: config " + config + ": "
                    + e.getMessage());
        }
        assertFalse(Files.exists(out), "nothing written");
    }

    @SuppressWarnings("unchecked")
    private static <T> void library(Setting<T> setting) {
        OrpoConfig.builder().set(setting, setting.check().counterexample()).build();
    }

    private static <T> String shown(Setting<T> setting) {
        return setting.kind().show(setting.check().counterexample());
    }

    /** Values no setting's type can hold, and the rules between settings, in the flags' words. */
    @ParameterizedTest
    @MethodSource("numericFlags")
    void aValueOfTheWrongTypeNamesItsFlag(Setting<?> setting) {
        Cli.run("train", "--model", "m", "--data", "d", "--output", tmp.resolve("x").toString(),
                setting.flag().name(), "lots").assertOneLineError(2, setting.flag().name() + " lots must be "
                        + setting.kind().expected());
    }

    static Stream<Setting<?>> numericFlags() {
        return Settings.ALL.stream().filter(s -> s.flag() != null && s.flag().paramLabel() != null)
                .filter(s -> s.kind().expected().startsWith("a number") || s.kind().expected().startsWith("an integer"));
    }

    @org.junit.jupiter.api.Test
    void rulesBetweenSettingsNameEveryFlag() {
        String out = tmp.resolve("y").toString();
        Cli.run("train", "--model", "m", "--data", "d", "--output", out, "--max-length", "64", "--max-prompt-length",
                "100").assertOneLineError(2, "--max-prompt-length 100 must be in 1..64 (--max-length)");
        Cli.run("train", "--model", "m", "--data", "d", "--output", out, "--bf16", "--fp16")
                .assertOneLineError(2, "--bf16 and --fp16 exclude each other");
        Cli.run("train", "--model", "m", "--data", "d", "--output", out, "--epochs", "0")
                .assertOneLineError(2, "--epochs 0 must be > 0 when maxSteps is not set");
        assertTrue(checked().count() >= 30, "most settings have a check: " + checked().count());
    }
}
