package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.orpo4j.safetensors.CheckpointReader;

/**
 * One case under src/test/resources/golden/model, written by src/test/python/model_golden.py (llama, qwen, mistral)
 * or families_golden.py (gemma, gemma2, gemma3_text, phi3, smollm3) with transformers' AutoModelForCausalLM.
 */
record Golden(String name, Path dir, long[][] inputIds, long[][] attentionMask, long[] logitsShape, float[] logits,
        long[] greedyPrompt, long[] greedyTokens) {

    static final List<String> CASES = List.of("llama_untied", "llama_tied_rope_scaling", "qwen2_bias",
            "qwen3_qk_norm", "mistral_window", "gemma_geglu", "gemma2_softcap", "gemma3_local_global", "phi3_longrope",
            "phi3_long_factors", "smollm3_nope");

    static Path dir(String name) {
        return Path.of("src", "test", "resources", "golden", "model", name);
    }

    static Golden load(String name) {
        Path dir = dir(name);
        try {
            JsonNode json = new ObjectMapper().readTree(Files.readAllBytes(dir.resolve("golden.json")));
            float[] logits;
            try (CheckpointReader reader = CheckpointReader.open(dir.resolve("expected.safetensors"))) {
                logits = reader.readFloats("logits");
            }
            return new Golden(name, dir, matrix(json.get("input_ids")), matrix(json.get("attention_mask")),
                    vector(json.get("logits_shape")), logits, vector(json.get("greedy_prompt")),
                    vector(json.get("greedy_tokens")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    NDArray ids(NDManager m) {
        return m.create(flatten(inputIds), new Shape(inputIds.length, inputIds[0].length));
    }

    NDArray mask(NDManager m) {
        return m.create(flatten(attentionMask), new Shape(attentionMask.length, attentionMask[0].length));
    }

    private static long[][] matrix(JsonNode node) {
        long[][] out = new long[node.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = vector(node.get(i));
        }
        return out;
    }

    private static long[] vector(JsonNode node) {
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = node.get(i).asLong();
        }
        return out;
    }

    private static long[] flatten(long[][] rows) {
        int width = rows[0].length;
        long[] out = new long[rows.length * width];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * width, width);
        }
        return out;
    }

    /**
     * The max-norm of {@code actual − logits} over the max-norm of the reference logits, every logit of
     * {@code actual} asserted finite first.
     */
    double logitsError(float[] actual) {
        double maxError = 0;
        double maxRef = 0;
        for (int i = 0; i < logits.length; i++) {
            org.junit.jupiter.api.Assertions.assertTrue(Float.isFinite(actual[i]),
                    name + ": non-finite logit at flat index " + i);
            maxError = Math.max(maxError, Math.abs(actual[i] - logits[i]));
            maxRef = Math.max(maxRef, Math.abs(logits[i]));
        }
        return maxError / maxRef;
    }
}
