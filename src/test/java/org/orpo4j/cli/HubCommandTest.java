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

    /**
     * Adapters by hub name: --adapter org/tiny-lora alone (its base from adapter_config.json), or as --model; a new
     * adapter records the base's hub name; merge names both; a dataset split typo and an adapter that does not fit
     * fail before the base's weights are downloaded; a mistyped local folder says it was also tried on the hub.
     */
    @Test
    void adaptersByHubNameAndEveryCheckBeforeTheBigDownloads() throws Exception {
        Path model = Cli.tinyModel(tmp);
        Path pairs = Cli.demoData(tmp, DemoAssets.TRAIN, 8);
        Path adapter = tmp.resolve("adapter");
        Cli.run("train", "--model", model.toString(), "--data", pairs.toString(), "--output", adapter.toString(),
                "--use-peft", "--lora-r", "4", "--max-steps", "1", "--batch-size", "2").assertSuccess();
        Map<String, byte[]> modelFiles = files(model);
        Map<String, byte[]> adapterFiles = new TreeMap<>();
        for (String f : List.of("adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            adapterFiles.put(f, Files.readAllBytes(adapter.resolve(f)));
        }
        String config = Files.readString(adapter.resolve("adapter_config.json"))
                .replace(model.toString(), "org/tiny"); // as published: its base by hub name
        adapterFiles.put("adapter_config.json", config.getBytes(StandardCharsets.UTF_8));
        Map<String, byte[]> badFiles = new TreeMap<>(adapterFiles);
        badFiles.put("adapter_config.json", config.replaceFirst("\"r\"\\s*:\\s*4", "\"r\": 8").getBytes(StandardCharsets.UTF_8));
        String weights = FakeHub.sha("SHA-256", modelFiles.get("model.safetensors"));
        try (FakeHub hub = new FakeHub()) {
            hub.publish("models", "org/tiny", modelFiles, false);
            hub.publish("models", "org/tiny-lora", adapterFiles, false);
            hub.publish("models", "org/bad-lora", badFiles, false);
            hub.publish("datasets", "org/prefs", Map.of("train.jsonl", Files.readAllBytes(pairs)), false);
            Map<String, String> env = Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_HUB_CACHE",
                    tmp.resolve("cache").toString());

            Run alone = child(env, List.of("generate", "--adapter", "org/tiny-lora", "--prompt", "hello",
                    "--max-new-tokens", "4"), "-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
            assertEquals(0, alone.code(), alone.err());
            assertTrue(alone.err().contains("loaded LoRA adapter org/tiny-lora (r=4, alpha=32.0"), alone.err());
            Run asModel = child(env, List.of("generate", "--model", "org/tiny-lora", "--prompt", "hello",
                    "--max-new-tokens", "4"));
            assertEquals(alone.out(), asModel.out());

            Path trained = tmp.resolve("trained");
            Run train = child(env, List.of("train", "--model", "org/tiny", "--dataset", "org/prefs", "--use-peft",
                    "--max-steps", "1", "--batch-size", "2", "--output", trained.toString()));
            assertEquals(0, train.code(), train.err());
            assertTrue(Files.readString(trained.resolve("adapter_config.json"))
                    .contains("\"base_model_name_or_path\" : \"org/tiny\""), "the name given, not the cache path");

            Path merged = tmp.resolve("merged");
            Run merge = child(env, List.of("merge", "--adapter", "org/tiny-lora", "--output", merged.toString()));
            assertEquals(0, merge.code(), merge.err());
            assertEquals("merged org/tiny-lora into org/tiny: " + merged, merge.out().strip());

            Map<String, String> fresh = Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_HUB_CACHE",
                    tmp.resolve("fresh").toString());
            hub.log.clear();
            Run typo = child(fresh, List.of("train", "--model", "org/tiny", "--dataset", "org/prefs",
                    "--dataset-split", "trian", "--output", tmp.resolve("t").toString()));
            assertEquals("orpo4j train: error: dataset org/prefs: no data files for split 'trian' (splits found:"
                    + " train)", typo.err().strip());
            Run bad = child(fresh, List.of("eval", "--adapter", "org/bad-lora", "--data", pairs.toString()));
            assertEquals(1, bad.code());
            assertTrue(bad.err().strip().matches("orpo4j eval: error: .*/adapter_model.safetensors: tensor"
                    + " 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape \\[4, 32\\] but"
                    + " the base model and r = 8 need \\[8, 32\\]"), bad.err());
            assertTrue(hub.log.stream().noneMatch(l -> l.contains(weights)), "the base's weights were never fetched: "
                    + hub.log);
        }
        Run nosuch = child(Map.of("HF_ENDPOINT", "http://127.0.0.1:9", "HF_HUB_CACHE",
                tmp.resolve("empty").toString()), List.of("eval", "--model", "runs/nosuch", "--data", pairs.toString()));
        assertEquals("orpo4j eval: error: --model runs/nosuch: no such local folder, and as a hub name: runs/nosuch:"
                + " the hub is unreachable (ConnectException) and nothing is cached in " + tmp.resolve("empty"),
                nosuch.err().strip());
    }

    private static Map<String, byte[]> files(Path dir) throws Exception {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path f : list.toList()) {
                files.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        return files;
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
        String level = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn";
        for (String m : more) {
            if (m.startsWith("-D")) {
                level = m; // a JVM option
            } else {
                all.add(m);
            }
        }
        List<String> cmd = Cli.childCommand(all, level);
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
