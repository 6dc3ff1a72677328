package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/** Runs the CLI in-process as {@code java -jar orpo4j-cli.jar} would, capturing stdout, stderr and the exit code. */
final class Cli {

    record Result(int exitCode, String out, String err) {
        /** Asserts a failure reported the orpo4j way: this exit code, one line on stderr, no stack trace. */
        Result assertOneLineError(int expectedCode, String... fragments) {
            assertEquals(expectedCode, exitCode, () -> "exit code; stderr: " + err);
            List<String> lines = err.lines().toList();
            assertEquals(1, lines.size(), () -> "one error line expected, got:\n" + err);
            assertFalse(err.contains("\tat "), () -> "stack trace printed:\n" + err);
            for (String f : fragments) {
                assertTrue(err.contains(f), () -> "stderr should contain '" + f + "': " + err);
            }
            return this;
        }

        Result assertSuccess() {
            assertEquals(0, exitCode, () -> "exit code; stderr: " + err + "\nstdout: " + out);
            return this;
        }
    }

    private Cli() {}

    static Result run(String... args) {
        CommandLine cmd = Main.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** {@code java [jvmOptions] -cp <this test run's class path> org.orpo4j.cli.Main args}: orpo4j in a child JVM. */
    static List<String> childCommand(List<String> args, String... jvmOptions) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dai.djl.offline=true");
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return cmd;
    }

    /** The demo's word-level tokenizer (vocabulary 180, ChatML template, EOS <|im_end|> = 2, pad 0) in {@code dir}. */
    static Path demoTokenizer(Path dir) throws IOException {
        return DemoAssets.writeTokenizer(dir);
    }

    /** Qwen3's real byte-level BPE tokenizer (a pre-tokenizer llama.cpp knows, so the model exports to GGUF). */
    static Path qwen3Tokenizer(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (java.io.InputStream in = new java.util.zip.GZIPInputStream(
                Files.newInputStream(Path.of("src/test/resources/tokenizers/qwen3/tokenizer.json.gz")))) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        Files.copy(Path.of("src/test/resources/tokenizers/qwen3/tokenizer_config.json"),
                dir.resolve("tokenizer_config.json"));
        return dir;
    }

    /** A tiny random llama on the demo tokenizer, made with {@code init}. */
    static Path tinyModel(Path dir) throws IOException {
        Path tok = demoTokenizer(dir.resolve("tokenizer"));
        Path model = dir.resolve("model");
        run("init", "--family", "llama", "--tokenizer", tok.toString(), "--output", model.toString(),
                "--hidden-size", "32", "--layers", "1", "--heads", "2", "--seed", "7").assertSuccess();
        return model;
    }

    /** The first {@code rows} pairs of a bundled demo file. */
    static Path demoData(Path dir, String name, int rows) throws IOException {
        Path full = DemoAssets.copy(name, dir.resolve("full-" + name));
        List<String> lines = Files.readAllLines(full, StandardCharsets.UTF_8).subList(0, rows);
        return Files.write(dir.resolve(name), lines, StandardCharsets.UTF_8);
    }
}
