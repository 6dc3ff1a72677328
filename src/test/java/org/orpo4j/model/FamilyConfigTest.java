package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The config.json fields of gemma, gemma2, gemma3_text, phi3 and smollm3 as their transformers config classes read
 * them: defaults for omitted fields, which layers slide, which RoPE each layer uses, scales and soft-caps.
 */
class FamilyConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    // shaped like google/gemma-2-2b-it: 26 layers, caps 50/30, window 4096, query_pre_attn_scalar 256
    static final String GEMMA2 = """
            {"architectures":["Gemma2ForCausalLM"],"attn_logit_softcapping":50.0,"bos_token_id":2,
             "eos_token_id":[1,107],"final_logit_softcapping":30.0,"head_dim":256,"hidden_act":"gelu_pytorch_tanh",
             "hidden_activation":"gelu_pytorch_tanh","hidden_size":2304,"intermediate_size":9216,
             "max_position_embeddings":8192,"model_type":"gemma2","num_attention_heads":8,"num_hidden_layers":26,
             "num_key_value_heads":4,"pad_token_id":0,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,
             "rope_theta":10000.0,"sliding_window":4096,"torch_dtype":"float32","vocab_size":256000}""";

    // shaped like google/gemma-3-1b-it: every 6th layer global (theta 1e6), the others local (1e4), window 512
    static final String GEMMA3 = """
            {"architectures":["Gemma3ForCausalLM"],"attention_bias":false,"attn_logit_softcapping":null,
             "bos_token_id":2,"eos_token_id":[1,106],"final_logit_softcapping":null,"head_dim":256,
             "hidden_activation":"gelu_pytorch_tanh","hidden_size":1152,"intermediate_size":6912,
             "max_position_embeddings":32768,"model_type":"gemma3_text","num_attention_heads":4,
             "num_hidden_layers":26,"num_key_value_heads":1,"pad_token_id":0,"query_pre_attn_scalar":256,
             "rms_norm_eps":1e-06,"rope_local_base_freq":10000,"rope_scaling":null,"rope_theta":1000000,
             "sliding_window":512,"sliding_window_pattern":6,"torch_dtype":"bfloat16","vocab_size":262144}""";

    // shaped like microsoft/Phi-3-mini-4k-instruct: window 2047 on every layer, no rope scaling, untied
    static final String PHI3 = """
            {"architectures":["Phi3ForCausalLM"],"attention_bias":false,"bos_token_id":1,"eos_token_id":32000,
             "hidden_act":"silu","hidden_size":3072,"intermediate_size":8192,"max_position_embeddings":4096,
             "model_type":"phi3","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":32,
             "original_max_position_embeddings":4096,"pad_token_id":32000,"rms_norm_eps":1e-05,
             "rope_scaling":null,"rope_theta":10000.0,"sliding_window":2047,"tie_word_embeddings":false,
             "torch_dtype":"bfloat16","vocab_size":32064}""";

    // shaped like HuggingFaceTB/SmolLM3-3B: every 4th layer without RoPE, no windows, tied
    static final String SMOLLM3 = """
            {"architectures":["SmolLM3ForCausalLM"],"attention_bias":false,"hidden_act":"silu","hidden_size":2048,
             "intermediate_size":11008,"max_position_embeddings":65536,"model_type":"smollm3",
             "no_rope_layer_interval":4,"num_attention_heads":16,"num_hidden_layers":36,"num_key_value_heads":4,
             "rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":5000000.0,"sliding_window":null,
             "use_sliding_window":false,"vocab_size":128256}""";

    private static ModelConfig parse(String json) throws Exception {
        return ModelConfig.fromJson((ObjectNode) JSON.readTree(json), "config.json");
    }

    @Test
    void gemma2SlidesEvenLayersScalesByQueryPreAttnScalarAndCapsTwice() throws Exception {
        ModelConfig c = parse(GEMMA2);
        assertEquals(256, c.headDim());
        assertTrue(c.tieWordEmbeddings(), "Gemma2Config ties by default");
        assertEquals(1 / 16.0, c.attentionScaling(), 1e-15);
        assertEquals(50.0, c.attnLogitSoftcapping());
        assertEquals(30.0, c.finalLogitSoftcapping());
        assertEquals(Math.sqrt(2304), c.embeddingScale(), 0);
        for (int i = 0; i < 26; i++) {
            assertEquals(i % 2 == 0 ? Integer.valueOf(4096) : null, c.layers().get(i).window(), "layer " + i);
            assertEquals(10000.0, c.layers().get(i).rope().theta(), 0);
        }
        ModelConfig bare = parse(GEMMA2.replace("\"attn_logit_softcapping\":50.0,", "")
                .replace("\"final_logit_softcapping\":30.0,", "").replace("\"sliding_window\":4096,", ""));
        assertEquals(50.0, bare.attnLogitSoftcapping(), "the config class's defaults");
        assertEquals(30.0, bare.finalLogitSoftcapping());
        assertEquals(4096, bare.slidingWindow());
        assertNull(parse(GEMMA2.replace("\"final_logit_softcapping\":30.0", "\"final_logit_softcapping\":null"))
                .finalLogitSoftcapping(), "an explicit null switches the cap off");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(GEMMA2.replace(
                "\"attn_logit_softcapping\":50.0", "\"attn_logit_softcapping\":0")));
        assertEquals("config.json: field 'attn_logit_softcapping' must be positive, got 0.0", e.getMessage());
    }

    @Test
    void gemma3AlternatesFiveLocalLayersWithOneGlobalEachWithItsOwnRopeBase() throws Exception {
        ModelConfig c = parse(GEMMA3);
        assertTrue(c.qkNorm());
        assertNull(c.attnLogitSoftcapping(), "gemma3 never applies an attention cap");
        assertNull(c.finalLogitSoftcapping());
        for (int i = 0; i < 26; i++) {
            boolean global = (i + 1) % 6 == 0;
            LayerSpec spec = c.layers().get(i);
            assertEquals(global ? null : Integer.valueOf(512), spec.window(), "layer " + i);
            assertEquals(global ? 1e6 : 1e4, spec.rope().theta(), 0, "layer " + i);
            assertEquals(RopeSpec.Kind.DEFAULT, spec.rope().kind());
        }
        ModelConfig scaled = parse(GEMMA3.replace("\"rope_scaling\":null",
                "\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":8.0}"));
        assertEquals(RopeSpec.Kind.LINEAR, scaled.layers().get(5).rope().kind(), "global layers scale");
        assertEquals(8.0, scaled.layers().get(5).rope().linearFactor(), 0);
        assertEquals(RopeSpec.Kind.DEFAULT, scaled.layers().get(0).rope().kind(), "local layers never do");
        ObjectNode explicit = (ObjectNode) JSON.readTree(GEMMA3.replace("\"num_hidden_layers\":26",
                "\"num_hidden_layers\":2"));
        explicit.putArray("layer_types").add("full_attention").add("sliding_attention");
        ModelConfig typed = ModelConfig.fromJson(explicit, "config.json");
        assertNull(typed.layers().get(0).window(), "layer_types wins over the pattern");
        assertEquals(512, typed.layers().get(1).window());
    }

    @Test
    void phi3WindowsEveryLayerAndReadsPartialRotaryAndLongrope() throws Exception {
        ModelConfig c = parse(PHI3);
        assertEquals(96, c.headDim());
        assertEquals(1e-5, c.rmsNormEps(), 0);
        assertFalse(c.attentionBias());
        assertFalse(c.tieWordEmbeddings());
        c.layers().forEach(spec -> assertEquals(2047, spec.window()));
        assertEquals(96, c.layers().get(0).rope().rotaryDim());
        ObjectNode longrope = (ObjectNode) JSON.readTree(PHI3.replace("\"max_position_embeddings\":4096",
                "\"max_position_embeddings\":131072").replace("\"rope_scaling\":null,", ""));
        longrope.put("partial_rotary_factor", 0.75);
        ObjectNode scaling = longrope.putObject("rope_scaling");
        scaling.put("type", "su");
        for (String name : new String[] {"short_factor", "long_factor"}) {
            var list = scaling.putArray(name);
            for (int i = 0; i < 36; i++) {
                list.add(name.startsWith("short") ? 1.0 : 1.0 + i);
            }
        }
        RopeSpec rope = ModelConfig.fromJson(longrope, "config.json").layers().get(0).rope();
        assertEquals(72, rope.rotaryDim(), "int(96 * 0.75)");
        assertEquals(RopeSpec.Kind.LONGROPE, rope.kind(), "'su' is longrope");
        assertEquals(Math.sqrt(1 + Math.log(32) / Math.log(4096)), rope.attentionFactor(), 1e-15);
        assertEquals(1.0, rope.inverseFrequencies(4096)[0], 0, "short factors up to 4096 positions");
        assertEquals(1.0 / 36 / Math.pow(10000, 70.0 / 72), rope.inverseFrequencies(4097)[35], 1e-12);
        scaling.remove("long_factor");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.fromJson(longrope, "config.json"));
        assertEquals("config.json: field 'rope_scaling.long_factor' must list 36 numbers (one per rotated pair), got"
                + " null", e.getMessage());
    }

    @Test
    void smollm3SkipsRopeOnEveryFourthLayerAndDefaultsItsTheta() throws Exception {
        ModelConfig c = parse(SMOLLM3);
        assertTrue(c.tieWordEmbeddings(), "SmolLM3Config ties by default");
        assertNull(c.slidingWindow());
        for (int i = 0; i < 36; i++) {
            assertEquals((i + 1) % 4 == 0, c.layers().get(i).rope() == null, "layer " + i);
        }
        assertEquals(2_000_000.0, parse(SMOLLM3.replace("\"rope_theta\":5000000.0,", "")).ropeTheta(), 0);
        ModelConfig windowed = parse(SMOLLM3.replace("\"sliding_window\":null", "\"sliding_window\":64")
                .replace("\"use_sliding_window\":false", "\"use_sliding_window\":true"));
        for (int i = 0; i < 36; i++) {
            assertEquals((i + 1) % 4 == 0 ? Integer.valueOf(64) : null, windowed.layers().get(i).window());
        }
    }

    @Test
    void gemmaReadsGeluAsTheTanhApproximationAndRefusesOtherActivations() throws Exception {
        String gemma = GEMMA2.replace("gemma2", "gemma").replace("Gemma2", "Gemma")
                .replace("\"hidden_act\":\"gelu_pytorch_tanh\"", "\"hidden_act\":\"gelu\"");
        ModelConfig c = parse(gemma);
        assertNull(c.slidingWindow(), "gemma (1) has no windows");
        assertNull(c.finalLogitSoftcapping());
        assertEquals(1 / 16.0, c.attentionScaling(), 0);
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> parse(GEMMA2.replace("\"hidden_activation\":\"gelu_pytorch_tanh\"",
                        "\"hidden_activation\":\"relu\"")));
        assertEquals("config.json: hidden_activation 'relu' is not supported for gemma2 (supported: gelu_pytorch_tanh)",
                e.getMessage());
        assertEquals(List.of(1, 107), parse(GEMMA2).eosTokenIds());
    }
}
