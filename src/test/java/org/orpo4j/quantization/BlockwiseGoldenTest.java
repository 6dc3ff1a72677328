package org.orpo4j.quantization;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.WithCpuManager;
import org.orpo4j.safetensors.SafetensorsFile;

/**
 * Acceptance 1 of QLoRA: orpo4j's 4-bit quantization against bitsandbytes' own {@code quantize_4bit} and
 * {@code dequantize_4bit} on the CPU (quantization_golden.py): for odd sizes, zero blocks (a zero last block keeps
 * bitsandbytes' 1e-38), outliers, subnormals and values on the code books' midpoints, NF4 and FP4, with and without
 * nested quantization: the packed codes, the absmax values (8-bit codes, nested absmax and offset) byte for byte,
 * and the dequantized weights bit for bit; the 8-bit nested step alone on 40 000 values around its lookup table's
 * bin edges.
 */
class BlockwiseGoldenTest extends WithCpuManager {

    static final Path GOLDEN = Path.of("src/test/resources/golden/quantization/blockwise.safetensors");
    static final List<String> CASES = List.of("odd", "zeros", "outliers", "row48", "large", "midpoints");

    @Test
    void codesAbsmaxAndDequantizedWeightsEqualBitsandbytes() {
        int checked = 0;
        try (SafetensorsFile golden = SafetensorsFile.open(GOLDEN)) {
            for (String name : CASES) {
                float[] input = golden.readFloats(name);
                long[] shape = golden.info(name).shape();
                for (QuantType type : QuantType.values()) {
                    for (boolean nested : new boolean[] {false, true}) {
                        String key = name + "." + type.bnbName() + (nested ? ".nested" : "");
                        compare(golden, key, input, shape, QuantConfig.of(type, nested));
                        checked++;
                    }
                }
            }
        }
        assertEquals(24, checked);
    }

    private void compare(SafetensorsFile golden, String key, float[] input, long[] shape, QuantConfig config) {
        Blockwise4bit q = new Blockwise4bit(config.type(), config.blocksize(), input.length);
        int chunk = 2 * config.blocksize(); // streamed as a checkpoint is read: whole blocks, then the rest
        for (int from = 0; from < input.length; from += chunk) {
            q.add(input, from, Math.min(chunk, input.length - from));
        }
        assertArrayEquals(golden.readBytes(key + ".packed"), q.packed(), key + ": packed codes");
        try (NDManager m = root.newSubManager()) {
            QuantizedWeight w = QuantizedWeight.of(q, shape, config, m);
            Map<String, NDArray> saved = w.tensors("w", m);
            if (config.doubleQuant()) {
                assertArrayEquals(golden.readBytes(key + ".absmax"), saved.get("w.absmax").toByteArray(),
                        key + ": 8-bit absmax codes");
                assertArrayEquals(bits(golden.readFloats(key + ".nested_absmax")),
                        bits(saved.get("w.nested_absmax").toFloatArray()), key + ": nested absmax");
                assertEquals(Float.floatToRawIntBits(golden.readFloats(key + ".offset")[0]),
                        Float.floatToRawIntBits(w.state().nested().offset()), key + ": offset");
                assertArrayEquals(bits(golden.readFloats("dynamic_map")),
                        bits(saved.get("w.nested_quant_map").toFloatArray()), "the dynamic map");
            } else {
                assertArrayEquals(bits(golden.readFloats(key + ".absmax")), bits(q.absmax()), key + ": absmax");
            }
            NDArray dequantized = w.dequantize(m, DataType.FLOAT32);
            assertArrayEquals(shape, dequantized.getShape().getShape());
            assertArrayEquals(bits(golden.readFloats(key + ".dequantized")), bits(dequantized.toFloatArray()),
                    key + ": dequantized");
        }
    }

    @Test
    void nestedEightBitStepEqualsBitsandbytesLookupTable() {
        try (SafetensorsFile golden = SafetensorsFile.open(GOLDEN)) {
            float[] map = golden.readFloats("dynamic_map");
            assertArrayEquals(bits(map), bits(Blockwise8bit.dynamicMap(root)));
            Blockwise8bit.Result r = Blockwise8bit.quantize(golden.readFloats("blockwise8.input"), map, 256);
            assertArrayEquals(bits(golden.readFloats("blockwise8.absmax")), bits(r.absmax()));
            byte[] want = golden.readBytes("blockwise8.packed");
            int differ = 0;
            for (int i = 0; i < want.length; i++) {
                differ += want[i] != r.codes()[i] ? 1 : 0;
            }
            assertEquals(0, differ, differ + " of " + want.length + " 8-bit codes differ");
        }
    }

    static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }
}
