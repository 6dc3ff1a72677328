package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.CheckpointWriter;
import org.orpo4j.safetensors.SaveOptions;

/**
 * Acceptance 4 of QLoRA: a pre-quantized checkpoint whose quant_state or 4-bit tensors do not fit fails to load
 * with one line naming the file, the tensor and the field, and nothing half-loaded stays behind.
 */
class BrokenQuantStateTest extends WithCpuManager {

    static final String W = "model.layers.0.self_attn.q_proj.weight";
    static final String STATE = W + ".quant_state.bitsandbytes__nf4";

    @TempDir
    Path tmp;

    @Test
    void brokenQuantStatesAreOneLineNamingFileTensorAndField() throws Exception {
        String json = new String(original(STATE), StandardCharsets.UTF_8);
        Path file = tmp.resolve("model.safetensors");
        assertEquals(file + ": tensor '" + STATE + "': quant_state is not valid JSON at column " + json.length(),
                failure(STATE, json.substring(0, json.length() - 1)));
        assertEquals(file + ": tensor '" + STATE + "': field 'blocksize' is 63, bitsandbytes allows [32, 64, 128,"
                + " 256, 512, 1024, 2048, 4096]", failure(STATE, json.replace("\"blocksize\": 64", "\"blocksize\": 63")));
        assertEquals(file + ": tensor '" + STATE + "': field 'quant_type': unknown 4-bit quant type 'int4' (nf4 or"
                + " fp4)", failure(STATE, json.replace("\"nf4\"", "\"int4\"")));
        assertEquals(file + ": tensor '" + STATE + "': field 'quant_type' is fp4 but the tensor's name says nf4",
                failure(STATE, json.replace("\"nf4\"", "\"fp4\"")));
        assertEquals(file + ": tensor '" + STATE + "': field 'shape' is [64, 32] but config.json implies [64, 64]",
                failure(STATE, json.replace("[64, 64]", "[64, 32]")));
        assertEquals(file + ": tensor '" + STATE + "': field 'nested_offset' must be a finite number, got \"x\"",
                failure(STATE, json.replaceAll("\"nested_offset\": [0-9.e-]+", "\"nested_offset\": \"x\"")));
        assertEquals(file + ": tensor '" + STATE + "': quant_state has an unknown field 'bits'",
                failure(STATE, json.replace("{", "{\"bits\": 4, ")));
        assertEquals(file + ": tensor '" + W + ".absmax' is U8[63], expected U8 with 64 values (one absmax per block"
                + " of 64)", failure(W + ".absmax", null));
        assertEquals(file + ": missing tensor '" + W + ".nested_absmax' (one absmax per 256 blocks)",
                failure(W + ".nested_absmax", ""));
    }

    /**
     * Loads a copy of the golden nf4 checkpoint in which tensor {@code name} is replaced: by the UTF-8 bytes of
     * {@code text}, left out ({@code ""}), or cut by one value ({@code null}); returns the error.
     */
    private String failure(String name, String text) throws Exception {
        Path dir = tmp;
        Path source = PrequantizedCheckpointTest.DIR.resolve("nf4_double");
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (NDManager m = root.newSubManager(); CheckpointReader reader = CheckpointReader.open(source)) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String n : reader.names()) {
                NDArray a = reader.load(n, m);
                if (n.equals(name)) {
                    UnaryOperator<NDArray> edit = text == null ? x -> x.get("1:") : x -> bytes(m, text);
                    if ("".equals(text)) {
                        continue;
                    }
                    a = edit.apply(a);
                }
                tensors.put(n, a);
            }
            CheckpointWriter.write(dir, tensors, SaveOptions.defaults());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CausalLm.load(dir, m));
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            return e.getMessage();
        }
    }

    private static byte[] original(String name) {
        try (CheckpointReader reader = CheckpointReader.open(PrequantizedCheckpointTest.DIR.resolve("nf4_double"))) {
            return reader.readBytes(name);
        }
    }

    private static NDArray bytes(NDManager m, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return m.create(java.nio.ByteBuffer.wrap(b), new Shape(b.length), DataType.UINT8);
    }
}
