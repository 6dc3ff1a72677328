package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.quantization.QuantConfig;
import org.orpo4j.quantization.QuantType;
import org.orpo4j.quantization.QuantizedWeight;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.SaveOptions;

/**
 * Acceptance 1 of QLoRA, model side (qlora_golden.py): checkpoints transformers quantized with bitsandbytes and saved
 * load as they are and compute transformers + bitsandbytes' logits; orpo4j quantizing the float base while it reads
 * it ({@code load_in_4bit}) writes exactly the tensors transformers wrote, byte for byte; and what orpo4j saves loads
 * back to the same codes.
 */
class PrequantizedCheckpointTest extends WithCpuManager {

    static final Path DIR = Path.of("src/test/resources/golden/qlora");

    @TempDir
    Path tmp;

    @Test
    void preQuantizedCheckpointsComputeTransformersLogits() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(DIR.resolve("eval.json").toFile());
        for (String name : List.of("nf4_double", "fp4")) {
            try (NDManager m = root.newSubManager(); CausalLm lm = CausalLm.load(DIR.resolve(name), m)) {
                assertEquals(14, lm.quantizedWeights().size(), name);
                assertFalse(lm.parameters().containsKey("model.layers.0.mlp.up_proj.weight"));
                assertTrue(lm.linearLayers().get("model.layers.1.self_attn.v_proj").quantized());
                assertFalse(lm.linearLayers().get("lm_head").quantized(), "transformers keeps the head in float");
                float[] logits = logits(lm, golden.get("rows"), m);
                JsonNode want = golden.get(name).get("logits");
                assertEquals(want.size(), logits.length);
                double worst = 0;
                for (int i = 0; i < logits.length; i++) {
                    worst = Math.max(worst, Math.abs(logits[i] - want.get(i).asDouble()));
                }
                assertTrue(worst < 2e-5, name + ": logits differ by " + worst);
                System.out.printf("pre-quantized %s: max |logit - transformers + bitsandbytes| %.2e%n", name, worst);
            }
        }
    }

    @Test
    void quantizingWhileReadingWritesWhatTransformersWrote() throws Exception {
        for (String name : List.of("nf4_double", "fp4")) {
            QuantConfig config = name.equals("fp4") ? QuantConfig.of(QuantType.FP4, false)
                    : QuantConfig.of(QuantType.NF4, true);
            try (NDManager m = root.newSubManager();
                    CausalLm lm = CausalLm.load(DIR.resolve("base"), "base", m, LoadOptions.loadIn4bit(config));
                    CheckpointReader want = CheckpointReader.open(DIR.resolve(name))) {
                assertEquals(14, lm.quantizedWeights().size());
                int tensors = 0;
                for (Map.Entry<String, QuantizedWeight> e : lm.quantizedWeights().entrySet()) {
                    for (Map.Entry<String, NDArray> t : e.getValue().tensors(e.getKey(), m).entrySet()) {
                        byte[] got = t.getValue().toByteArray();
                        byte[] expected = t.getKey().endsWith("__nf4") || t.getKey().endsWith("__fp4")
                                ? want.readBytes(t.getKey()) : bytes(want, t.getKey(), m);
                        assertArrayEquals(expected, got, name + ": " + t.getKey());
                        tensors++;
                    }
                }
                assertEquals(14 * (name.equals("fp4") ? 4 : 6), tensors);
                // the float parts are the base's, untouched
                assertArrayEquals(bytes(want, "model.embed_tokens.weight", m),
                        lm.parameters().get("model.embed_tokens.weight").toByteArray());
            }
        }
    }

    @Test
    void savedFourBitModelLoadsBackToTheSameCodesAndLogits() throws Exception {
        JsonNode rows = new ObjectMapper().readTree(DIR.resolve("eval.json").toFile()).get("rows");
        Path saved = tmp.resolve("saved");
        float[] before;
        try (NDManager m = root.newSubManager(); CausalLm lm = CausalLm.load(DIR.resolve("nf4_double"), m)) {
            before = logits(lm, rows, m);
            lm.save(saved, SaveOptions.defaults(), null);
        }
        JsonNode config = new ObjectMapper().readTree(saved.resolve("config.json").toFile());
        assertEquals("nf4", config.get("quantization_config").get("bnb_4bit_quant_type").asText());
        assertTrue(config.get("quantization_config").get("bnb_4bit_use_double_quant").asBoolean());
        try (NDManager m = root.newSubManager(); CausalLm lm = CausalLm.load(saved, m);
                CheckpointReader a = CheckpointReader.open(saved);
                CheckpointReader b = CheckpointReader.open(DIR.resolve("nf4_double"))) {
            assertArrayEquals(before, logits(lm, rows, m));
            assertEquals(new java.util.TreeSet<>(b.names()), new java.util.TreeSet<>(a.names()));
            for (String n : b.names()) {
                if (!n.contains("quant_state")) {
                    assertArrayEquals(bytes(b, n, m), bytes(a, n, m), n);
                }
            }
        }
    }

    @Test
    void dequantizedModelComputesWhatTheFourBitOneComputed() throws Exception {
        JsonNode rows = new ObjectMapper().readTree(DIR.resolve("eval.json").toFile()).get("rows");
        try (NDManager m = root.newSubManager(); CausalLm lm = CausalLm.load(DIR.resolve("nf4_double"), m)) {
            float[] fourBit = logits(lm, rows, m);
            lm.dequantize();
            assertFalse(lm.isQuantized());
            assertEquals(lm.linearLayers().size() * 1 + 2 * 2 + 1 + 1, lm.parameters().size()); // + norms, embed, head
            assertArrayEquals(fourBit, logits(lm, rows, m), "the same float32 weights, the same matmuls");
        }
    }

    static float[] logits(CausalLm lm, JsonNode rows, NDManager m) {
        try (NDManager step = m.newSubManager(); GradMode off = GradMode.enabled(false)) {
            long[][] ids = matrix(rows.get("input_ids"));
            long[][] mask = matrix(rows.get("attention_mask"));
            Shape shape = new Shape(ids.length, ids[0].length);
            return lm.forward(step.create(flat(ids), shape), step.create(flat(mask), shape)).toFloatArray();
        }
    }

    /** A tensor's stored bytes, as the model would hold them (floats as float32, U8 as is). */
    private static byte[] bytes(CheckpointReader reader, String name, NDManager m) {
        try (NDArray a = reader.load(name, m)) {
            return a.toByteArray();
        }
    }

    private static long[][] matrix(JsonNode node) {
        long[][] out = new long[node.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new long[node.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = node.get(i).get(j).asLong();
            }
        }
        return out;
    }

    private static long[] flat(long[][] rows) {
        return java.util.Arrays.stream(rows).flatMapToLong(java.util.Arrays::stream).toArray();
    }
}
