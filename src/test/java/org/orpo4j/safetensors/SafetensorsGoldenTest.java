package org.orpo4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;

/** A file written by hand from Python/torch (src/test/python/safetensors_golden.py) read by orpo4j. */
class SafetensorsGoldenTest {

    static final Path GOLDEN = Path.of("src/test/resources/golden/safetensors/golden.safetensors");

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }

    @Test
    void headerOrderMetadataAndShapes() {
        try (SafetensorsFile f = SafetensorsFile.open(GOLDEN)) {
            assertEquals(List.of("round_bf16", "round_in", "i64", "f16_special", "bf16_special", "f32"),
                    List.copyOf(f.tensors().keySet())); // JSON order, not offset order
            assertEquals(Map.of("format", "pt", "source", "safetensors_golden.py"), f.metadata());
            TensorInfo f16 = f.info("f16_special");
            assertEquals(DType.F16, f16.dtype());
            assertArrayEquals(new long[] {2, 4}, f16.shape());
            assertEquals(40, f16.begin());
            assertEquals(56, f16.end());
        }
    }

    @Test
    void valuesOfEachDtypeAreExact() {
        try (SafetensorsFile f = SafetensorsFile.open(GOLDEN); NDManager m = DjlRuntime.newManager(Device.cpu())) {
            assertArrayEquals(new float[] {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f}, f.readFloats("f32"));
            assertArrayEquals(new int[] {0x3F800000, 0xC0400000, 0x00010000, 0x80010000, 0x7F800000, 0xFF800000,
                    0xFFFF0000 /* torch's vectorised NaN */, 0x3EAB0000}, bits(f.readFloats("bf16_special")));
            assertArrayEquals(new int[] {0x3F800000, 0xC0000000, 0x477FE000 /* 65504 */, 0x33800000 /* 2^-24 */,
                    0x387FC000 /* 1023 * 2^-24 */, 0x80000000, 0x7F800000, 0x7FC00000}, bits(f.readFloats("f16_special")));

            NDArray bf16 = f.load("bf16_special", m);
            assertEquals(DataType.FLOAT32, bf16.getDataType());
            assertArrayEquals(bits(f.readFloats("bf16_special")), bits(bf16.toFloatArray()));
            NDArray f16 = f.load("f16_special", m);
            assertArrayEquals(new long[] {2, 4}, f16.getShape().getShape());
            assertArrayEquals(bits(f.readFloats("f16_special")), bits(f16.toFloatArray()));
            NDArray i64 = f.load("i64", m);
            assertEquals(DataType.INT64, i64.getDataType());
            assertArrayEquals(new long[] {-1, 0, (1L << 40) + 1}, i64.toLongArray());
        }
    }

    @Test
    void javaBf16RoundingMatchesTorch() {
        try (SafetensorsFile f = SafetensorsFile.open(GOLDEN)) {
            float[] in = f.readFloats("round_in");
            float[] torch = f.readFloats("round_bf16");
            assertEquals(512, in.length);
            for (int i = 0; i < in.length; i++) {
                int expected = Float.floatToRawIntBits(torch[i]) >>> 16;
                int actual = FloatFormats.f32ToBf16(in[i]) & 0xFFFF;
                assertEquals(expected, actual, "round_in[" + i + "] = 0x" + Integer.toHexString(
                        Float.floatToRawIntBits(in[i])));
            }
        }
    }

    /** A range read (how a quantizer streams a weight) widens exactly what a whole read does, in any chunking. */
    @Test
    void rangesReadTheSameValuesAsTheWholeTensor() {
        for (int chunk : new int[] {1, 3, 1 << 20}) {
            try (SafetensorsFile f = SafetensorsFile.open(GOLDEN, chunk)) {
                for (String name : List.of("round_bf16", "f16_special", "f32")) {
                    float[] whole = f.readFloats(name);
                    float[] parts = new float[whole.length + 2];
                    int first = whole.length / 3;
                    f.readFloats(name, 0, parts, 1, first);
                    f.readFloats(name, first, parts, 1 + first, whole.length - first);
                    assertArrayEquals(bits(whole), bits(java.util.Arrays.copyOfRange(parts, 1, 1 + whole.length)),
                            name + " in chunks of " + chunk);
                }
                assertEquals(GOLDEN + ": tensor 'f32': values [5, 7) are outside its 6",
                        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                                () -> f.readFloats("f32", 5, new float[2], 0, 2)).getMessage());
            }
        }
    }
}
