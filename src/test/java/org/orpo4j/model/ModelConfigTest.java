package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** config.json parsing for each family as published on the Hub, HF defaults, and refusals. */
class ModelConfigTest {

    // Abridged from meta-llama/Llama-3.2-1B-Instruct: llama3 rope scaling, eos list, explicit head_dim, tied.
    static final String LLAMA32 = """
            {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
             "bos_token_id":128000,"eos_token_id":[128001,128008,128009],"head_dim":64,"hidden_act":"silu",
             "hidden_size":2048,"initializer_range":0.02,"intermediate_size":8192,"max_position_embeddings":131072,
             "mlp_bias":false,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":16,
             "num_key_value_heads":8,"pretraining_tp":1,"rms_norm_eps":1e-05,
             "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
                             "original_max_position_embeddings":8192,"rope_type":"llama3"},
             "rope_theta":500000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.45.0.dev0","use_cache":true,"vocab_size":128256}""";

    // mistralai/Mistral-7B-v0.1: derived head_dim, sliding window, untied.
    static final String MISTRAL = """
            {"architectures":["MistralForCausalLM"],"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu",
             "hidden_size":4096,"initializer_range":0.02,"intermediate_size":14336,"max_position_embeddings":32768,
             "model_type":"mistral","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,
             "rms_norm_eps":1e-05,"rope_theta":10000.0,"sliding_window":4096,"tie_word_embeddings":false,
             "torch_dtype":"bfloat16","transformers_version":"4.34.0.dev0","use_cache":true,"vocab_size":32000}""";

    // Qwen/Qwen2.5-0.5B: no attention_bias field (q/k/v biased anyway), eos int, sliding window unused.
    static final String QWEN25 = """
            {"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,
             "eos_token_id":151643,"hidden_act":"silu","hidden_size":896,"initializer_range":0.02,
             "intermediate_size":4864,"max_position_embeddings":32768,"max_window_layers":24,"model_type":"qwen2",
             "num_attention_heads":14,"num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,
             "rope_theta":1000000.0,"sliding_window":32768,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.40.1","use_cache":true,"use_sliding_window":false,"vocab_size":151936}""";

    // Qwen/Qwen3-0.6B: head_dim 128 although hidden/heads = 64; q/k norm.
    static final String QWEN3 = """
            {"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
             "bos_token_id":151643,"eos_token_id":151645,"head_dim":128,"hidden_act":"silu","hidden_size":1024,
             "initializer_range":0.02,"intermediate_size":3072,"max_position_embeddings":40960,
             "max_window_layers":28,"model_type":"qwen3","num_attention_heads":16,"num_hidden_layers":28,
             "num_key_value_heads":8,"rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":1000000,
             "sliding_window":null,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.51.0","use_cache":true,"use_sliding_window":false,"vocab_size":151936}""";

    static final String MINIMAL_LLAMA = """
            {"model_type":"llama","vocab_size":100,"hidden_size":48,"intermediate_size":96,
             "num_hidden_layers":3,"num_attention_heads":6}""";

    @TempDir Path dir;

    private Path write(String name, String json) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, json);
        return p;
    }

    private ModelConfig load(String json) throws IOException {
        return ModelConfig.load(write("config.json", json));
    }

    @Test
    void llama32ReadsLlama3RopeScalingEosListAndExplicitHeadDim() throws IOException {
        ModelConfig c = load(LLAMA32);
        assertEquals("llama", c.modelType());
        assertEquals(128256, c.vocabSize());
        assertEquals(2048, c.hiddenSize());
        assertEquals(8192, c.intermediateSize());
        assertEquals(16, c.numHiddenLayers());
        assertEquals(32, c.numAttentionHeads());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(64, c.headDim());
        assertEquals(1e-5, c.rmsNormEps(), 0);
        assertEquals(500000.0, c.ropeTheta(), 0);
        assertEquals(new ModelConfig.RopeScaling(32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertFalse(c.oProjBias());
        assertFalse(c.mlpBias());
        assertFalse(c.qkNorm());
        assertNull(c.slidingWindow());
        assertEquals(128000, c.bosTokenId());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertNull(c.padTokenId());
        assertEquals("bfloat16", c.torchDtype());
    }

    @Test
    void mistralDerivesHeadDimAndKeepsSlidingWindow() throws IOException {
        ModelConfig c = load(MISTRAL);
        assertEquals(128, c.headDim()); // 4096 / 32
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(4096, c.slidingWindow());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertEquals(List.of(2), c.eosTokenIds());
        assertEquals(1, c.bosTokenId());
        assertNull(c.ropeScaling());
    }

    @Test
    void mistralIgnoresAttentionBiasLikeHf() throws IOException {
        ModelConfig c = load(MISTRAL.replace("\"bos_token_id\":1", "\"attention_bias\":true,\"bos_token_id\":1"));
        assertFalse(c.attentionBias());
        assertFalse(c.oProjBias());
    }

    @Test
    void qwen2AlwaysHasQkvBiasButNoOutputBias() throws IOException {
        ModelConfig c = load(QWEN25);
        assertTrue(c.attentionBias());
        assertFalse(c.oProjBias());
        assertEquals(64, c.headDim()); // 896 / 14
        assertEquals(2, c.numKeyValueHeads());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(List.of(151643), c.eosTokenIds());
        assertNull(c.slidingWindow()); // use_sliding_window false
        assertFalse(c.qkNorm());
        assertEquals(1e6, c.ropeTheta(), 0);
    }

    @Test
    void qwen3HasQkNormAndExplicitHeadDimDifferentFromHiddenOverHeads() throws IOException {
        ModelConfig c = load(QWEN3);
        assertTrue(c.qkNorm());
        assertEquals(128, c.headDim());
        assertEquals(64, c.hiddenSize() / c.numAttentionHeads());
        assertFalse(c.attentionBias());
        assertFalse(c.oProjBias());
        assertNull(c.ropeScaling());
        assertEquals(1e6, c.ropeTheta(), 0);
        assertEquals(List.of(151645), c.eosTokenIds());
        assertNull(c.slidingWindow());
    }

    @Test
    void qwen3WithoutHeadDimUsesHfDefault128() throws IOException {
        assertEquals(128, load(QWEN3.replace("\"head_dim\":128,", "")).headDim());
    }

    @Test
    void llamaAttentionAndMlpBiasFollowTheirFields() throws IOException {
        ModelConfig c = load(LLAMA32.replace("\"attention_bias\":false", "\"attention_bias\":true")
                .replace("\"mlp_bias\":false", "\"mlp_bias\":true"));
        assertTrue(c.attentionBias());
        assertTrue(c.oProjBias());
        assertTrue(c.mlpBias());
    }

    @Test
    void minimalLlamaGetsHfDefaults() throws IOException {
        ModelConfig c = load(MINIMAL_LLAMA);
        assertEquals(6, c.numKeyValueHeads()); // = heads
        assertEquals(8, c.headDim()); // 48 / 6
        assertEquals(10000.0, c.ropeTheta(), 0);
        assertEquals(1e-6, c.rmsNormEps(), 0);
        assertEquals(2048, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertFalse(c.attentionBias());
        assertFalse(c.mlpBias());
        assertNull(c.ropeScaling());
        assertNull(c.bosTokenId());
        assertEquals(List.of(), c.eosTokenIds());
        assertNull(c.torchDtype());
    }

    @Test
    void ropeParametersOfNewerTransformersAreRead() throws IOException {
        ModelConfig c = load(MINIMAL_LLAMA.replace("\"num_attention_heads\":6",
                "\"num_attention_heads\":6,\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,"
                        + "\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                        + "\"original_max_position_embeddings\":8192}"));
        assertEquals(500000.0, c.ropeTheta(), 0);
        assertEquals(new ModelConfig.RopeScaling(8.0, 1.0, 4.0, 8192), c.ropeScaling());
    }

    @Test
    void defaultRopeTypeMeansNoScaling() throws IOException {
        ModelConfig c = load(MINIMAL_LLAMA.replace("\"num_attention_heads\":6",
                "\"num_attention_heads\":6,\"rope_scaling\":{\"rope_type\":\"default\"}"));
        assertNull(c.ropeScaling());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "mixtral", "qwen2_moe", "gemma3", "phi"})
    void unsupportedModelTypesAreRefusedNamingTypeFileAndSupportedList(String type) throws IOException {
        Path file = write("config.json", MINIMAL_LLAMA.replace("\"llama\"", "\"" + type + "\""));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> ModelConfig.load(file));
        assertEquals(type, e.modelType());
        assertEquals(file + ": model_type '" + type + "' is not supported (supported: llama, mistral, qwen2, qwen3, "
                + "gemma, gemma2, gemma3_text, phi3, smollm3)", e.getMessage());
    }

    @Test
    void otherRopeTypesAreRefused() throws IOException {
        Path file = write("config.json", MINIMAL_LLAMA.replace("\"num_attention_heads\":6",
                "\"num_attention_heads\":6,\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4.0}"));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> ModelConfig.load(file));
        assertEquals(file + ": rope_scaling type 'yarn' is not supported (supported: llama3, linear, longrope, default)",
                e.getMessage());
    }

    @Test
    void otherActivationsAreRefused() throws IOException {
        Path file = write("config.json", MINIMAL_LLAMA.replace("{", "{\"hidden_act\":\"gelu\","));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> ModelConfig.load(file));
        assertEquals(file + ": hidden_act 'gelu' is not supported for llama (supported: silu)", e.getMessage());
    }

    @Test
    void missingRequiredFieldNamesFileAndField() throws IOException {
        Path file = write("config.json", MINIMAL_LLAMA.replace("\"hidden_size\":48,", ""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(file));
        assertEquals(file + ": missing required field 'hidden_size'", e.getMessage());
    }

    @Test
    void missingModelTypeNamesFileAndField() throws IOException {
        Path file = write("config.json", MINIMAL_LLAMA.replace("\"model_type\":\"llama\",", ""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(file));
        assertTrue(e.getMessage().startsWith(file + ": missing required field 'model_type'"), e.getMessage());
    }

    @Test
    void incompleteLlama3ScalingNamesTheMissingKey() throws IOException {
        Path file = write("config.json", LLAMA32.replace("\"low_freq_factor\":1.0,", ""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(file));
        assertEquals(file + ": missing required field 'rope_scaling.low_freq_factor'", e.getMessage());
    }

    @Test
    void wrongTypesAndInconsistentHeadsAreNamed() throws IOException {
        Path f1 = write("a.json", MINIMAL_LLAMA.replace("\"vocab_size\":100", "\"vocab_size\":\"100\""));
        assertEquals(f1 + ": field 'vocab_size' must be an integer, got \"100\"",
                assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(f1)).getMessage());
        Path f2 = write("b.json", MINIMAL_LLAMA.replace("{", "{\"num_key_value_heads\":4,"));
        assertEquals(f2 + ": num_key_value_heads 4 must be positive and divide num_attention_heads 6",
                assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(f2)).getMessage());
        Path f3 = write("c.json", MINIMAL_LLAMA.replace("\"hidden_size\":48", "\"hidden_size\":50"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(f3)).getMessage()
                .startsWith(f3 + ": hidden_size 50 / num_attention_heads 6 is not an even head_dim"));
        Path f4 = write("d.json", "{not json");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfig.load(f4)).getMessage()
                .startsWith(f4 + ": not valid JSON"));
        Path f5 = dir.resolve("absent.json");
        assertTrue(assertThrows(UncheckedIOException.class, () -> ModelConfig.load(f5)).getMessage()
                .startsWith(f5 + ": cannot read config"));
    }

    @Test
    void saveChangesOnlyTorchDtype() throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ModelConfig c = load(LLAMA32);
        Path out = dir.resolve("out/config.json");
        c.save(out, "float32");
        ObjectNode expected = (ObjectNode) mapper.readTree(LLAMA32);
        ObjectNode saved = (ObjectNode) mapper.readTree(out.toFile());
        assertEquals("float32", saved.get("torch_dtype").asText());
        expected.put("torch_dtype", "float32");
        assertEquals(expected, saved);
        assertEquals(keys(expected), keys(saved)); // key order kept
        c.save(out, null);
        assertEquals(mapper.readTree(LLAMA32), mapper.readTree(out.toFile()));
        assertFalse(Files.exists(dir.resolve("out/.config.json.tmp")));
    }

    private static List<String> keys(ObjectNode node) {
        List<String> keys = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    @Test
    void rawIsACopy() throws IOException {
        ModelConfig c = load(MISTRAL);
        c.raw().put("hidden_size", 1);
        assertEquals(4096, c.raw().get("hidden_size").asInt());
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "smollm3"})
    void builderMakesTinyConfigsThatSurviveSaveAndLoad(String type) throws IOException {
        ModelConfig c = ModelConfig.builder(type).vocabSize(96).hiddenSize(32).intermediateSize(48)
                .numHiddenLayers(1).numAttentionHeads(4).numKeyValueHeads(1).tieWordEmbeddings(true)
                .eosTokenIds(2, 5).padTokenId(0).build();
        assertEquals(type, c.modelType());
        assertEquals(type.startsWith("qwen3") || type.startsWith("gemma") ? 16 : 8, c.headDim());
        assertEquals(1, c.numKeyValueHeads());
        assertEquals(List.of(2, 5), c.eosTokenIds());
        assertEquals(0, c.padTokenId());
        assertEquals(type.equals("qwen2"), c.attentionBias());
        assertEquals(type.equals("qwen3") || type.equals("gemma3_text"), c.qkNorm());
        Path file = dir.resolve(type + ".json");
        c.save(file, null);
        ModelConfig back = ModelConfig.load(file);
        assertEquals(c.raw(), back.raw());
        assertEquals(c.toString(), back.toString());
        assertTrue(back.raw().get("architectures").get(0).asText().endsWith("ForCausalLM"));
    }

    @Test
    void builderCarriesLlama3ScalingAndRefusesUnknownTypes() {
        ModelConfig.RopeScaling s = new ModelConfig.RopeScaling(8.0, 1.0, 4.0, 64);
        assertEquals(s, ModelConfig.builder("llama").ropeScaling(s).headDim(8).build().ropeScaling());
        assertEquals(List.of(7), ModelConfig.builder("llama").eosTokenIds(7).build().eosTokenIds());
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> ModelConfig.builder("gpt2"));
        assertTrue(e.getMessage().contains("'gpt2'")
                && e.getMessage().contains("llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text, phi3, smollm3"));
    }
}
