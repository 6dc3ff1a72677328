package org.orpo4j.export;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import org.orpo4j.model.CausalLm;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.Json;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.DType;

/**
 * Tiny checkpoints the GGUF goldens were made from (src/test/python/gguf_golden.py): the golden's config.json,
 * float32 weights from {@code value(name, i) = ((i·40503 + crc32(name)) mod 65536 − 32768) / 65536} (exact in
 * both languages) and a real tokenizer from src/test/resources/tokenizers.
 */
final class GgufCheckpoints {

    private GgufCheckpoints() {}

    static float[] formula(String name, long n) {
        CRC32 crc = new CRC32();
        crc.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        long h = crc.getValue();
        float[] v = new float[(int) n];
        for (int i = 0; i < n; i++) {
            long x = Math.floorMod(i * 40503L + h, 65536L) - 32768;
            v[i] = (float) (x / 65536.0);
        }
        return v;
    }

    /** Writes config.json, model.safetensors and the tokenizer into {@code dir}; returns the config. */
    static ModelConfig write(Path dir, ObjectNode config, String tokenizer, NDManager manager) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("config.json"), Json.untrusted().writeValueAsBytes(config));
        ModelConfig mc = ModelConfig.load(dir.resolve("config.json"));
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        try (NDManager scratch = manager.newSubManager()) {
            CausalLm.linearShapes(mc); // the config is one the model code accepts
            try (CausalLm lm = CausalLm.random(mc, scratch, 0)) {
                lm.parameters().forEach((name, p) -> {
                    Shape s = p.getShape();
                    tensors.put(name, scratch.create(formula(name, s.size()), s));
                });
                CheckpointWriter.writeFile(dir.resolve("model.safetensors"), tensors, DType.F32);
            }
        }
        copyTokenizer(tokenizer, dir);
        return mc;
    }

    /**
     * Copies a test tokenizer's files into {@code dir}: a real one of src/test/resources/tokenizers (tokenizer.json
     * gunzipped), or a SentencePiece one of the goldens ({@code spm_*}: tokenizer.model, tokenizer.json).
     */
    static void copyTokenizer(String tokenizer, Path dir) throws IOException {
        if (tokenizer.startsWith("spm_")) {
            Path src = Path.of("src/test/resources/golden/gguf", tokenizer);
            for (String f : new String[] {"tokenizer.model", "tokenizer.json", "tokenizer_config.json"}) {
                Files.copy(src.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            return;
        }
        Path src = Path.of("src/test/resources/tokenizers", tokenizer);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(src.resolve("tokenizer.json.gz")))) {
            Files.copy(in, dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.copy(src.resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"),
                StandardCopyOption.REPLACE_EXISTING);
    }
}
