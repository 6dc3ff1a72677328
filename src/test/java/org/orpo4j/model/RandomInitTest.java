package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.WithCpuManager;

/** The tiny-model factory: HF names and order, HF-like init, determinism from the seed. */
class RandomInitTest extends WithCpuManager {

    @Test
    void qwen2HasHfNamesInStateDictOrder() {
        ModelConfig config = ModelConfig.builder("qwen2").numHiddenLayers(1).build();
        try (CausalLm lm = CausalLm.random(config, root, 1)) {
            String l = "model.layers.0.";
            assertEquals(List.of("model.embed_tokens.weight",
                    l + "self_attn.q_proj.weight", l + "self_attn.q_proj.bias",
                    l + "self_attn.k_proj.weight", l + "self_attn.k_proj.bias",
                    l + "self_attn.v_proj.weight", l + "self_attn.v_proj.bias", l + "self_attn.o_proj.weight",
                    l + "mlp.gate_proj.weight", l + "mlp.up_proj.weight", l + "mlp.down_proj.weight",
                    l + "input_layernorm.weight", l + "post_attention_layernorm.weight",
                    "model.norm.weight", "lm_head.weight"), List.copyOf(lm.parameters().keySet()));
            assertArrayEquals(new long[] {64, 64}, shape(lm, l + "self_attn.q_proj.weight"));
            assertArrayEquals(new long[] {32, 64}, shape(lm, l + "self_attn.k_proj.weight")); // 2 kv heads of 16
            lm.parameters().forEach((name, p) -> assertTrue(p.hasGradient(), name + " tracks gradients"));
        }
    }

    private static long[] shape(CausalLm lm, String name) {
        return lm.parameters().get(name).getShape().getShape();
    }

    @Test
    void initialisationFollowsHfAndTheSeed() {
        ModelConfig config = ModelConfig.builder("qwen3").padTokenId(0).tieWordEmbeddings(true).build();
        try (CausalLm a = CausalLm.random(config, root, 42);
                CausalLm b = CausalLm.random(config, root, 42);
                CausalLm c = CausalLm.random(config, root, 43)) {
            Map<String, NDArray> pa = a.parameters();
            assertFalse(pa.containsKey("lm_head.weight"));
            assertSame(pa.get("model.embed_tokens.weight"), a.lmHeadWeight(), "tied head is the embedding");
            pa.forEach((name, p) -> assertArrayEquals(p.toFloatArray(), b.parameters().get(name).toFloatArray(), name));
            float[] q = pa.get("model.layers.1.self_attn.q_proj.weight").toFloatArray();
            assertFalse(Arrays.equals(q, c.parameters().get("model.layers.1.self_attn.q_proj.weight")
                    .toFloatArray()), "another seed, other weights");
            double sumSq = 0;
            for (float v : q) {
                sumSq += v * v;
            }
            double std = Math.sqrt(sumSq / q.length); // 4096 draws: within 5% of 0.02
            assertEquals(0.02, std, 0.001);
            for (String norm : List.of("model.norm.weight", "model.layers.0.self_attn.q_norm.weight",
                    "model.layers.0.input_layernorm.weight")) {
                for (float v : pa.get(norm).toFloatArray()) {
                    assertEquals(1f, v, norm);
                }
            }
            float[] padRow = pa.get("model.embed_tokens.weight").get(0).toFloatArray();
            assertArrayEquals(new float[config.hiddenSize()], padRow, "padding_idx row is zero");
        }
    }
}
