package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.DjlRuntime;

class InitCommandTest {

    @TempDir
    Path tmp;

    @Test
    void writesALoadableModelSizedByTheFlagsWithTheTokenizersIds() throws Exception {
        Path tok = Cli.demoTokenizer(tmp.resolve("tok"));
        Path out = tmp.resolve("qwen");
        Cli.Result r = Cli.run("init", "--family", "qwen2", "--tokenizer", tok.toString(), "--output", out.toString(),
                "--hidden-size", "32", "--intermediate-size", "48", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                "--tie-word-embeddings").assertSuccess();

        ModelConfig c = ModelConfig.load(out.resolve("config.json"));
        assertEquals("qwen2", c.modelType());
        assertEquals(180, c.vocabSize()); // 176 words + 4 specials in the demo tokenizer.json
        assertEquals(32, c.hiddenSize());
        assertEquals(48, c.intermediateSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(2, c.numKeyValueHeads());
        assertEquals(8, c.headDim());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(List.of(2), c.eosTokenIds()); // <|im_end|>
        assertEquals(0, c.padTokenId()); // <|endoftext|>
        assertEquals(null, c.bosTokenId()); // the tokenizer has none
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertTrue(Files.exists(out.resolve("tokenizer_config.json")));

        // embed 180*32 + per layer: q 32*32+32, k 16*32+16, v 16*32+16, o 32*32, mlp 3*32*48, 2 norms of 32; final norm
        long perLayer = (1024 + 32) + (512 + 16) * 2 + 1024 + 3 * 32 * 48 + 2 * 32;
        long expected = 180 * 32 + 2 * perLayer + 32;
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice()); CausalLm lm = CausalLm.load(out, m)) {
            Map<String, NDArray> params = lm.parameters();
            assertFalse(params.containsKey("lm_head.weight"));
            assertEquals(expected, params.values().stream().mapToLong(NDArray::size).sum());
        }
        assertTrue(r.out().contains(String.format("%,d parameters", expected)), r.out());
    }

    @Test
    void qwen3DefaultsItsHeadDimToHiddenOverHeads() throws Exception {
        Path tok = Cli.demoTokenizer(tmp.resolve("tok"));
        Path out = tmp.resolve("q3");
        Cli.run("init", "--family", "qwen3", "--tokenizer", tok.toString(), "--output", out.toString(),
                "--hidden-size", "32", "--layers", "1", "--heads", "2").assertSuccess();
        ModelConfig c = ModelConfig.load(out.resolve("config.json"));
        assertEquals(180, c.vocabSize());
        assertEquals(16, c.headDim());
        assertEquals(128, c.intermediateSize()); // 4 x hidden
        assertEquals(2, c.numKeyValueHeads()); // = heads
    }

    /**
     * The other families initialise as their HF classes do: gemma's (1 + w) norms at 0, its head tied by default,
     * gemma2's four norms per layer, phi3's fused projections untied, smollm3 tied; head_dim is hidden / heads.
     */
    @ParameterizedTest
    @CsvSource({"gemma, true, model.layers.0.mlp.gate_proj.weight, 0", "gemma2, true,"
            + " model.layers.0.pre_feedforward_layernorm.weight, 0", "gemma3_text, true,"
            + " model.layers.0.self_attn.q_norm.weight, 0", "phi3, false, model.layers.0.self_attn.qkv_proj.weight, 1",
            "smollm3, true, model.layers.0.mlp.up_proj.weight, 1"})
    void otherFamiliesInitialiseAsTheirHfClasses(String family, boolean tied, String tensor, float norm)
            throws Exception {
        Path tok = Cli.demoTokenizer(tmp.resolve("tok"));
        Path out = tmp.resolve(family);
        Cli.run("init", "--family", family, "--tokenizer", tok.toString(), "--output", out.toString(),
                "--hidden-size", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2").assertSuccess();
        ModelConfig c = ModelConfig.load(out.resolve("config.json"));
        assertEquals(family, c.modelType());
        assertEquals(8, c.headDim());
        assertEquals(tied, c.tieWordEmbeddings());
        try (NDManager m = DjlRuntime.newManager(DjlRuntime.defaultDevice()); CausalLm lm = CausalLm.load(out, m)) {
            Map<String, NDArray> params = lm.parameters();
            assertTrue(params.containsKey(tensor), tensor);
            assertEquals(!tied, params.containsKey("lm_head.weight"));
            for (float w : params.get("model.norm.weight").toFloatArray()) {
                assertEquals(norm, w, 0f, "final norm weight");
            }
            if (family.equals("phi3")) {
                assertEquals(new Shape(4 * 8 + 2 * 2 * 8, 32), params.get(tensor).getShape());
            }
        }
    }

    @Test
    void vocabSizeCanBeRoundedUpButNotBelowTheTokenizer() throws Exception {
        Path tok = Cli.demoTokenizer(tmp.resolve("tok"));
        Path out = tmp.resolve("padded");
        Cli.run("init", "--family", "mistral", "--tokenizer", tok.toString(), "--output", out.toString(),
                "--hidden-size", "16", "--layers", "1", "--heads", "2", "--vocab-size", "256").assertSuccess();
        assertEquals(256, ModelConfig.load(out.resolve("config.json")).vocabSize());
        Cli.run("init", "--family", "mistral", "--tokenizer", tok.toString(), "--output", tmp.resolve("p2").toString(),
                "--vocab-size", "100").assertOneLineError(2, "--vocab-size 100 is smaller than the 180 ids");
    }

    @Test
    void badUsage() throws Exception {
        Path tok = Cli.demoTokenizer(tmp.resolve("tok"));
        String out = tmp.resolve("o").toString();
        Cli.run("init", "--tokenizer", tok.toString(), "--output", out).assertOneLineError(2, "--family");
        Cli.run("init", "--family", "gpt2", "--tokenizer", tok.toString(), "--output", out)
                .assertOneLineError(2, "gpt2", "llama, mistral, qwen2, qwen3");
        Cli.run("init", "--family", "llama", "--tokenizer", tok.toString(), "--output", out, "--layers", "two")
                .assertOneLineError(2, "--layers", "two");
        Cli.run("init", "--family", "llama", "--tokenizer", tok.toString(), "--output", out, "--heads", "3")
                .assertOneLineError(2, "hidden_size 64");
        assertFalse(Files.exists(tmp.resolve("o")));
    }

    @Test
    void aFolderWithoutTokenizerFails() {
        Cli.run("init", "--family", "llama", "--tokenizer", tmp.toString(), "--output", tmp.resolve("o").toString())
                .assertOneLineError(1, tmp + ": no tokenizer.json");
    }
}
