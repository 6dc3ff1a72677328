package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.hub.FakeHub;

/**
 * {@code train --model org/tiny --dataset org/prefs} end to end against a loopback hub, in a child JVM whose
 * environment points HF_ENDPOINT and HF_HUB_CACHE at it; then the same with the hub stopped and HF_HUB_OFFLINE=1.
 */
class HubCommandTest {

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {}

    @Test
    void trainsFromHubNamesThenOfflineFromTheCache() throws Exception {
        Path model = Cli.tinyModel(tmp);
        Path train = parquet(Cli.demoData(tmp, DemoAssets.TRAIN, 8), tmp.resolve("train.parquet"));
        Path test = parquet(Cli.demoData(tmp, DemoAssets.HELDOUT, 4), tmp.resolve("test.parquet"));
        Map<String, byte[]> modelFiles = new TreeMap<>();
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.toList()) {
                modelFiles.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        Path cache = tmp.resolve("cache");
        List<String> trainArgs = List.of("train", "--model", "org/tiny", "--dataset", "org/prefs", "--eval-split",
                "test", "--max-steps", "2", "--batch-size", "2", "--seed", "5");
        Path online = tmp.resolve("online");
        Path offline = tmp.resolve("offline");
        try (FakeHub hub = new FakeHub()) {
            hub.publish("models", "org/tiny", modelFiles, false);
            hub.publish("datasets", "org/prefs", Map.of("README.md", new byte[] {'#'},
                    "data/train-00000-of-00001.parquet", Files.readAllBytes(train),
                    "data/test-00000-of-00001.parquet", Files.readAllBytes(test)), false);
            Run run = child(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_HUB_CACHE", cache.toString()),
                    trainArgs, "--output", online.toString());
            assertEquals(0, run.code(), run.err());
        }
        assertTrue(Files.readString(online.resolve("metrics.jsonl")).contains("\"eval_loss\""));
        Run run = child(Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", cache.toString()), trainArgs, "--output",
                offline.toString());
        assertEquals(0, run.code(), run.err());
        assertArrayEquals(Files.readAllBytes(online.resolve("model.safetensors")),
                Files.readAllBytes(offline.resolve("model.safetensors")), "the same run from the cache");

        Run eval = child(Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", cache.toString()),
                List.of("eval", "--model", "org/tiny", "--dataset", "org/prefs"));
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("\"eval_samples\":4"), eval.out());

        Run missing = child(Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", cache.toString()),
                List.of("eval", "--model", "org/other", "--dataset", "org/prefs"));
        assertEquals(1, missing.code());
        assertEquals("orpo4j eval: error: --model org/other: no such local folder, and as a hub name: org/other:"
                + " HF_HUB_OFFLINE is set and nothing is cached in " + cache + " (download it once without"
                + " HF_HUB_OFFLINE)", missing.err().strip());
    }

    /** The JSONL rows as a parquet file (DuckDB infers the message structs). */
    private static Path parquet(Path jsonl, Path target) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
            s.execute("COPY (SELECT * FROM read_json_auto('" + jsonl + "')) TO '" + target + "' (FORMAT parquet)");
        }
        return target;
    }

    /** orpo4j in a child JVM with {@code env} added to this one's environment. */
    private Run child(Map<String, String> env, List<String> args, String... more) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        List<String> cmd = Cli.childCommand(all, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().keySet().removeIf(k -> k.startsWith("HF_"));
        builder.environment().putAll(env);
        Process p = builder.start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "child did not finish");
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8).lines().filter(l -> !l.contains("CudaUtils"))
                        .reduce("", (a, b) -> a + b + "\n"));
    }
}
