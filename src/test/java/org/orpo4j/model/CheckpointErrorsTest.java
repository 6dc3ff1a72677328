package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.SaveOptions;

/** Broken folders fail on load with one line naming the file and the tensor or field, and leak nothing. */
class CheckpointErrorsTest extends WithCpuManager {

    private static final String CASE = "llama_untied";

    @TempDir
    Path tmp;

    @Test
    void missingTensor() throws IOException {
        Path dir = folderWith(tensors -> tensors.remove("model.layers.1.mlp.up_proj.weight"));
        String message = loadError(dir);
        assertTrue(message.startsWith(dir.resolve("model.safetensors") + ": missing tensor "
                + "'model.layers.1.mlp.up_proj.weight'"), message);
    }

    @Test
    void wrongShape() throws IOException {
        Path dir = copyOfGolden();
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"),
                config.replace("\"intermediate_size\": 64", "\"intermediate_size\": 48"));
        String message = loadError(dir);
        assertEquals(dir.resolve("model.safetensors") + ": tensor 'model.layers.0.mlp.gate_proj.weight' has shape "
                + "[64, 32] but config.json implies [48, 32]", message);
    }

    @Test
    void unexpectedTensorIsRefusedButRotaryBuffersAreIgnored(@TempDir Path other) throws IOException {
        Path dir = folderWith(tensors -> tensors.put("model.layers.0.self_attn.extra.weight",
                tensors.get("model.norm.weight")));
        String message = loadError(dir);
        assertTrue(message.startsWith(dir.resolve("model.safetensors")
                + ": unexpected tensor 'model.layers.0.self_attn.extra.weight' not used by llama("), message);

        Path withBuffers = folderWith(tensors -> tensors.put("model.layers.0.self_attn.rotary_emb.inv_freq",
                tensors.get("model.norm.weight")));
        try (CausalLm lm = CausalLm.load(withBuffers, root)) {
            assertFalse(lm.parameters().containsKey("model.layers.0.self_attn.rotary_emb.inv_freq"));
        }
    }

    @Test
    void unsupportedModelType() throws IOException {
        Path dir = copyOfGolden();
        String config = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"),
                config.replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\""));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> CausalLm.load(dir, root));
        assertEquals(dir.resolve("config.json") + ": model_type 'gpt2' is not supported "
                + "(supported: llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, smollm3)", e.getMessage());
    }

    @Test
    void missingWeightsFile() throws IOException {
        Path dir = copyOfGolden();
        Files.delete(dir.resolve("model.safetensors"));
        String message = loadError(dir);
        assertTrue(message.startsWith(dir.toString()) && message.contains("model.safetensors"), message);
    }

    /** The message of the load failure, checked to be one line and to leave no array behind. */
    private static String loadError(Path dir) {
        int before = ((BaseNDManager) root).getManagedArrays().size();
        RuntimeException e = assertThrows(RuntimeException.class, () -> CausalLm.load(dir, root));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertEquals(before, ((BaseNDManager) root).getManagedArrays().size(), "a failed load frees what it loaded");
        return e.getMessage();
    }

    private Path copyOfGolden() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        for (String file : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(Golden.dir(CASE).resolve(file), dir.resolve(file));
        }
        return dir;
    }

    /** A folder with the golden config and the golden tensors as edited by {@code edit}. */
    private Path folderWith(java.util.function.Consumer<LinkedHashMap<String, NDArray>> edit) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("edited" + System.nanoTime()));
        Files.copy(Golden.dir(CASE).resolve("config.json"), dir.resolve("config.json"));
        try (CausalLm lm = CausalLm.load(Golden.dir(CASE), root)) {
            LinkedHashMap<String, NDArray> tensors = lm.parameters();
            edit.accept(tensors);
            CheckpointWriter.write(dir, tensors, SaveOptions.defaults());
        }
        return dir;
    }

}
