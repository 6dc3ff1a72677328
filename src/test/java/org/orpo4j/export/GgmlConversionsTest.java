package org.orpo4j.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * F16, BF16 and Q8_0 bytes equal the gguf package's quantizer (ggml's reference conversions) for 4096 floats over
 * 24 binades, with ties, subnormals, overflow, infinities, NaN, an all-zero block and exact halves
 * (golden/gguf/floats.*, gguf_golden.py).
 */
class GgmlConversionsTest {

    private static final Path DIR = Path.of("src/test/resources/golden/gguf");

    @Test
    void f16AndBf16MatchGgml() throws IOException {
        float[] x = floats("floats.f32");
        byte[] f16 = new byte[x.length * 2];
        byte[] bf16 = new byte[x.length * 2];
        ByteBuffer a = ByteBuffer.wrap(f16).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = ByteBuffer.wrap(bf16).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : x) {
            a.putShort(GgmlFloats.toF16(v));
            b.putShort(GgmlFloats.toBf16(v));
        }
        assertArrayEquals(Files.readAllBytes(DIR.resolve("floats.f16")), f16);
        assertArrayEquals(Files.readAllBytes(DIR.resolve("floats.bf16")), bf16);
    }

    @Test
    void q8_0MatchesGgml() throws IOException {
        float[] x = floats("floats_finite.f32");
        ByteBuffer out = ByteBuffer.allocate(x.length / 32 * 34).order(ByteOrder.LITTLE_ENDIAN);
        Q8Blocks.quantize(x, 0, x.length, out);
        assertArrayEquals(Files.readAllBytes(DIR.resolve("floats_finite.q8_0")), out.array());
    }

    @Test
    void handDerivedValues() {
        assertEquals(0x3C00, GgmlFloats.toF16(1f) & 0xFFFF);
        assertEquals(0x7BFF, GgmlFloats.toF16(65504f) & 0xFFFF);
        assertEquals(0x7C00, GgmlFloats.toF16(65520f) & 0xFFFF); // the tie rounds to even: infinity
        assertEquals(0x0001, GgmlFloats.toF16(0x1p-24f) & 0xFFFF);
        assertEquals(0x0000, GgmlFloats.toF16(0x1p-25f) & 0xFFFF); // half the smallest subnormal: even is zero
        assertEquals(0x3F80, GgmlFloats.toBf16(1f) & 0xFFFF);
        assertEquals(0x3F80, GgmlFloats.toBf16(Float.intBitsToFloat(0x3F808000)) & 0xFFFF); // tie to even
        assertEquals(0x3F82, GgmlFloats.toBf16(Float.intBitsToFloat(0x3F818000)) & 0xFFFF);
        // one block: max 127 -> d = 1, values round half away from zero
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        ByteBuffer out = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        Q8Blocks.quantize(x, 0, 32, out);
        assertEquals(0x3C00, out.getShort(0) & 0xFFFF);
        assertEquals(127, out.get(2));
        assertEquals(3, out.get(3));
        assertEquals(-3, out.get(4));
    }

    private static float[] floats(String file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(DIR.resolve(file))).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[b.remaining() / 4];
        b.asFloatBuffer().get(x);
        return x;
    }
}
