package org.orpo4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.SaveOptions;

/**
 * An adapter on a 4-bit base (the pre-quantized golden checkpoint, TRL's trained adapter): it computes over the
 * dequantized weights, and merging dequantizes the base to float32 and folds the adapter in, as PEFT's merge does;
 * the merged model computes what the adapted 4-bit one did and saves as a plain float HF folder.
 */
class QloraMergeTest extends WithCpuManager {

    static final Path DIR = Path.of("src/test/resources/golden/qlora");

    @TempDir
    Path tmp;

    @Test
    void mergingIntoAFourBitBaseDequantizesAndComputesTheSame() throws Exception {
        long[] ids = {1, 5, 9, 13, 17, 21, 25, 2};
        float[] adapted;
        float[] expectedQ;
        try (NDManager m = root.newSubManager(); CausalLm lm = CausalLm.load(DIR.resolve("nf4_double"), m)) {
            float[] base = logits(lm, ids, m);
            LoraModel lora = LoraModel.load(lm, DIR.resolve("lora/final"));
            adapted = logits(lm, ids, m);
            assertTrue(maxDiff(base, adapted) > 1e-3, "the adapter changes the logits");
            assertThrows(IllegalStateException.class, () -> lm.linearLayers().get("model.layers.0.mlp.up_proj")
                    .weight(), "a 4-bit layer has no float weight to hand out");
            String q = "model.layers.0.self_attn.q_proj";
            try (NDManager s = m.newSubManager(); GradMode off = GradMode.enabled(false)) {
                NDArray w = lm.quantizedWeights().get(q + ".weight").dequantize(s, DataType.FLOAT32);
                NDArray a = lora.parameters().get(LoraModel.key(q, "lora_A.weight"));
                NDArray b = lora.parameters().get(LoraModel.key(q, "lora_B.weight"));
                expectedQ = w.add(b.matMul(a).mul(2.0)).toFloatArray(); // alpha 8 / r 4
            }
            lora.merge();
            assertFalse(lm.isQuantized(), "merging dequantizes the base");
            assertTrue(LoraModel.of(lm).isEmpty());
            assertArrayEquals(expectedQ, lm.parameters().get(q + ".weight").toFloatArray(), 1e-6f);
            assertArrayEquals(adapted, logits(lm, ids, m), 2e-5f);
            lm.save(tmp.resolve("merged"), SaveOptions.defaults(), null);
        }
        assertFalse(new ObjectMapper().readTree(tmp.resolve("merged/config.json").toFile()).has("quantization_config"),
                "a merged model is a float one");
        try (NDManager m = root.newSubManager(); CausalLm merged = CausalLm.load(tmp.resolve("merged"), m)) {
            assertFalse(merged.isQuantized());
            assertEquals(0, maxDiff(adapted, logits(merged, ids, m)), 2e-5);
        }
    }

    private static float[] logits(CausalLm lm, long[] ids, NDManager m) {
        try (NDManager step = m.newSubManager(); GradMode off = GradMode.enabled(false)) {
            NDArray x = step.create(ids, new Shape(1, ids.length));
            return lm.forward(x, null).toFloatArray();
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
