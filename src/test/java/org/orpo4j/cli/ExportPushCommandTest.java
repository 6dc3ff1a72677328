package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.export.GgufFile;
import org.orpo4j.hub.FakeUploadHub;

/**
 * {@code export} and {@code push} from the command line: an adapter merged into the export (the same numbers as
 * {@code merge} then {@code export}), outputs that would land in an input refused, a push to a loopback hub, a
 * wrong token in one line, and {@code train --push-to-hub}.
 */
class ExportPushCommandTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path train;
    static Path adapter;

    @BeforeAll
    static void trainAnAdapter() throws Exception {
        Path tok = Cli.qwen3Tokenizer(tmp.resolve("qwen3-tokenizer"));
        model = tmp.resolve("model");
        Cli.run("init", "--family", "llama", "--tokenizer", tok.toString(), "--output", model.toString(),
                "--hidden-size", "32", "--layers", "1", "--heads", "2", "--seed", "7").assertSuccess();
        train = Cli.demoData(tmp, DemoAssets.TRAIN, 8);
        adapter = tmp.resolve("adapter");
        Cli.run("train", "--model", model.toString(), "--data", train.toString(), "--output", adapter.toString(),
                "--use-peft", "--lora-r", "4", "--lora-target-modules", "q_proj,v_proj,down_proj", "--lr", "5e-2",
                "--max-steps", "2", "--batch-size", "4").assertSuccess();
    }

    @Test
    void exportMergesTheAdapterAsMergeDoes() throws Exception {
        Path withAdapter = tmp.resolve("adapter.gguf");
        Cli.Result r = Cli.run("export", "--model", model.toString(), "--adapter", adapter.toString(), "--outtype",
                "f32", "--output", withAdapter.toString(), "--name", "tiny").assertSuccess();
        assertTrue(r.out().startsWith("exported " + model + " + " + adapter + " as llama f32 GGUF"), r.out());
        Path merged = tmp.resolve("merged");
        Cli.run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--output", merged.toString())
                .assertSuccess();
        Path ofMerged = tmp.resolve("merged.gguf");
        Cli.run("export", "--model", merged.toString(), "--outtype", "f32", "--output", ofMerged.toString(),
                "--name", "tiny").assertSuccess();
        Path ofBase = tmp.resolve("base.gguf");
        Cli.run("export", "--model", model.toString(), "--outtype", "f32", "--output", ofBase.toString(),
                "--name", "tiny").assertSuccess();
        GgufFile a = GgufFile.read(withAdapter);
        GgufFile m = GgufFile.read(ofMerged);
        GgufFile base = GgufFile.read(ofBase);
        assertEquals(m.dataStart, a.dataStart);
        byte[] fa = Files.readAllBytes(withAdapter);
        byte[] fm = Files.readAllBytes(ofMerged);
        byte[] fb = Files.readAllBytes(ofBase);
        assertArrayEquals(Arrays.copyOf(fm, (int) m.dataStart), Arrays.copyOf(fa, (int) a.dataStart), "same header");
        float[] va = floats(fa, a.dataStart);
        float[] vm = floats(fm, m.dataStart);
        float[] vb = floats(fb, base.dataStart);
        int changed = 0;
        for (int i = 0; i < va.length; i++) {
            assertEquals(vm[i], va[i], 1e-6f * Math.max(1, Math.abs(vm[i])), "value " + i);
            changed += va[i] != vb[i] ? 1 : 0;
        }
        assertTrue(changed > 1000, "the adapter changed the weights: " + changed);
    }

    @Test
    void exportRefusesBadUsage() throws Exception {
        Path demo = Cli.tinyModel(tmp.resolve("demo"));
        Cli.run("export", "--model", demo.toString(), "--output", tmp.resolve("demo.gguf").toString())
                .assertOneLineError(1, "tokenizer.json: llama.cpp does not know this BPE pre-tokenizer");
        Cli.run("export", "--model", model.toString(), "--output", model.resolve("m.gguf").toString())
                .assertOneLineError(1, "orpo4j export: error: --output " + model.resolve("m.gguf") + " is inside --model");
        Cli.run("export", "--model", model.toString(), "--outtype", "q4_k", "--output", tmp.resolve("x.gguf").toString())
                .assertOneLineError(2, "--outtype q4_k: expected f32, f16, bf16 or q8_0");
        Cli.run("export", "--model", model.toString(), "--format", "onnx", "--output", tmp.resolve("x.gguf").toString())
                .assertOneLineError(2, "--format onnx: only gguf is supported");
        assertFalse(Files.exists(tmp.resolve("x.gguf")));
    }

    @Test
    void pushUploadsAndAWrongTokenIsOneLine() throws Exception {
        try (FakeUploadHub hub = new FakeUploadHub()) {
            Child ok = child(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_TOKEN", FakeUploadHub.TOKEN),
                    "push", "--folder", adapter.toString(), "--repo", "org/tiny-lora", "--private");
            assertEquals(0, ok.code(), ok.err());
            assertTrue(ok.out().startsWith("pushed " + adapter + " to org/tiny-lora: "), ok.out());
            Map<String, byte[]> files = hub.repos.get("org/tiny-lora").branches.get("main");
            assertTrue(files.containsKey("adapter_model.safetensors") && files.containsKey("adapter_config.json"));
            String card = new String(files.get("README.md"), StandardCharsets.UTF_8);
            assertTrue(card.contains("A LoRA adapter for `" + model + "`"), card);
            assertFalse(card.contains("base_model:"), "a local base is no hub metadata: " + card);
            assertTrue(card.contains("library_name: peft"), card);
            Child again = child(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_TOKEN", FakeUploadHub.TOKEN),
                    "push", "--folder", adapter.toString(), "--repo", "org/tiny-lora");
            assertTrue(again.out().startsWith("org/tiny-lora: all "), again.out());
            Child wrong = child(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_TOKEN", "hf_nope"),
                    "push", "--folder", adapter.toString(), "--repo", "org/other");
            assertEquals(1, wrong.code());
            assertEquals(List.of("orpo4j push: error: org/other: create the repository: the token was rejected"
                    + " (HTTP 401) (the hub says: Invalid credentials in Authorization header): check HF_TOKEN (or the"
                    + " token file) and its access to org/other"), wrong.err().lines().toList());
        }
    }

    @Test
    void trainPushesToTheHubAtTheEnd() throws Exception {
        try (FakeUploadHub hub = new FakeUploadHub()) {
            Path out = tmp.resolve("pushed-run");
            Child run = child(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_TOKEN", FakeUploadHub.TOKEN),
                    "train", "--model", model.toString(), "--data", train.toString(), "--output", out.toString(),
                    "--max-steps", "2", "--batch-size", "4", "--save-every", "1", "--push-to-hub", "--hub-model-id",
                    "org/tiny-orpo");
            assertEquals(0, run.code(), run.err());
            Map<String, byte[]> files = hub.repos.get("org/tiny-orpo").branches.get("main");
            assertTrue(files.containsKey("model.safetensors") && files.containsKey("orpo_config.json"), files.keySet()
                    .toString());
            assertTrue(files.keySet().stream().noneMatch(f -> f.startsWith("checkpoint-")), files.keySet().toString());
            assertTrue(Files.isDirectory(out.resolve("checkpoint-1")));
            String card = new String(files.get("README.md"), StandardCharsets.UTF_8);
            assertTrue(card.contains("| pushToHub | true |") && card.contains("| hubModelId | org/tiny-orpo |"), card);
            assertTrue(card.contains("by orpo4j on `" + train.getFileName() + "`.") && !card.contains("datasets:"), card);
            Child noToken = child(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_TOKEN_PATH",
                    tmp.resolve("none").toString()), "train", "--model", model.toString(), "--data", train.toString(),
                    "--output", tmp.resolve("never").toString(), "--push-to-hub");
            assertEquals(2, noToken.code());
            assertTrue(noToken.err().startsWith("orpo4j train: error: --push-to-hub needs a hub token"), noToken.err());
            assertFalse(Files.exists(tmp.resolve("never")));
        }
    }

    private record Child(int code, String out, String err) {}

    private static Child child(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = Cli.childCommand(new ArrayList<>(List.of(args)),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        ProcessBuilder b = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        b.environment().keySet().removeIf(k -> k.startsWith("HF_"));
        b.environment().putAll(env);
        Process p = b.start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "child did not finish");
        return new Child(p.exitValue(), Files.readString(out), Files.readString(err).lines()
                .filter(l -> !l.contains("CudaUtils")).reduce("", (x, y) -> x + y + "\n"));
    }

    private static float[] floats(byte[] file, long from) {
        ByteBuffer b = ByteBuffer.wrap(file, (int) from, file.length - (int) from).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }
}
