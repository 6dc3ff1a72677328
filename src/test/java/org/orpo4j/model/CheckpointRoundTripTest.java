package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.DType;
import org.orpo4j.safetensors.SaveOptions;

/**
 * load -> save -> load gives bit-identical parameters, as one file, as shards and (for bf16 weights) as BF16; and
 * save -> load -> save gives identical files for every family.
 */
class CheckpointRoundTripTest extends WithCpuManager {

    @TempDir
    Path tmp;

    @Test
    void f32SaveReloadsBitIdenticalWithConfigAndTokenizerFiles() throws IOException {
        Path tokenizer = Files.createDirectories(tmp.resolve("tokenizer"));
        Files.writeString(tokenizer.resolve("tokenizer.json"), "{\"model\":{}}");
        Files.writeString(tokenizer.resolve("chat_template.jinja"), "{{ messages }}");
        Files.writeString(tokenizer.resolve("README.md"), "not a tokenizer file");
        Path out = tmp.resolve("saved");
        try (CausalLm lm = CausalLm.load(Golden.dir("qwen2_bias"), root)) {
            lm.save(out, SaveOptions.defaults(), tokenizer);
            try (CausalLm again = CausalLm.load(out, root)) {
                assertBitIdentical(lm.parameters(), again.parameters());
            }
        }
        assertEquals("{\"model\":{}}", Files.readString(out.resolve("tokenizer.json")));
        assertEquals("{{ messages }}", Files.readString(out.resolve("chat_template.jinja")));
        assertFalse(Files.exists(out.resolve("README.md")));
        ObjectMapper json = new ObjectMapper();
        ObjectNode original = (ObjectNode) json.readTree(Golden.dir("qwen2_bias").resolve("config.json").toFile());
        ObjectNode saved = (ObjectNode) json.readTree(out.resolve("config.json").toFile());
        assertEquals("float32", saved.get("torch_dtype").asText());
        original.put("torch_dtype", "float32");
        assertEquals(original, saved, "config.json unchanged but for the dtype");
        try (CheckpointReader reader = CheckpointReader.open(out)) {
            assertEquals(DType.F32, reader.info("lm_head.weight").dtype());
        }
    }

    @Test
    void shardedBf16SaveOfATiedModelReloadsBitIdentical() {
        Path out = tmp.resolve("sharded");
        try (CausalLm lm = CausalLm.load(Golden.dir("llama_tied_rope_scaling"), root)) { // bf16 on disk
            lm.save(out, new SaveOptions(DType.BF16, 8_000), null);
            assertTrue(Files.exists(out.resolve(CheckpointReader.INDEX_FILE)), "sharded above 8 kB");
            assertFalse(Files.exists(out.resolve(CheckpointReader.SINGLE_FILE)));
            try (CheckpointReader reader = CheckpointReader.open(out)) {
                assertFalse(reader.contains("lm_head.weight"), "tied: the head is the embedding");
                assertEquals(DType.BF16, reader.info("model.norm.weight").dtype());
            }
            try (CausalLm again = CausalLm.load(out, root)) {
                assertBitIdentical(lm.parameters(), again.parameters());
                assertEquals("bfloat16", again.config().torchDtype());
            }
        }
    }

    /**
     * Every family: the loaded reference checkpoint saved in its own dtype (float32 for float16), loaded and saved again gives the same
     * bytes, under exactly the tensor names transformers wrote (phi3's qkv_proj and gate_up_proj stay fused).
     */
    @ParameterizedTest
    @MethodSource("org.orpo4j.model.CausalLmGoldenTest#cases")
    void saveLoadSaveIsBitIdenticalUnderTheReferenceNames(String name) throws IOException {
        Path first = tmp.resolve(name + "-first");
        Path second = tmp.resolve(name + "-second");
        Set<String> referenceNames;
        SaveOptions options;
        try (CheckpointReader reference = CheckpointReader.open(Golden.dir(name))) {
            referenceNames = reference.names();
            DType stored = reference.info("model.norm.weight").dtype();
            options = SaveOptions.defaults().withDtype(stored == DType.BF16 ? DType.BF16 : DType.F32); // F16 -> F32
        }
        try (CausalLm lm = CausalLm.load(Golden.dir(name), root)) {
            lm.save(first, options, null);
        }
        try (CausalLm again = CausalLm.load(first, root)) {
            again.save(second, options, null);
        }
        try (CheckpointReader saved = CheckpointReader.open(first)) {
            assertEquals(referenceNames, saved.names(), name);
        }
        assertArrayEquals(Files.readAllBytes(first.resolve(CheckpointReader.SINGLE_FILE)),
                Files.readAllBytes(second.resolve(CheckpointReader.SINGLE_FILE)), name);
        assertEquals(Files.readString(first.resolve("config.json")), Files.readString(second.resolve("config.json")));
    }

    private static void assertBitIdentical(Map<String, NDArray> expected, Map<String, NDArray> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, array) -> {
            assertEquals(array.getShape(), actual.get(name).getShape(), name);
            float[] a = array.toFloatArray();
            float[] b = actual.get(name).toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), name + "[" + i + "]");
            }
        });
    }
}
