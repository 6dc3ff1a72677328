package org.orpo4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The 16-bit conversions against hand-computed bit patterns and an independent arithmetic derivation. */
class FloatFormatsTest {

    private static int bits(float f) {
        return Float.floatToRawIntBits(f);
    }

    @Test
    void bf16WideningIsTheUpperHalfOfTheFloat32() {
        assertEquals(0x3F800000, bits(FloatFormats.bf16ToF32((short) 0x3F80))); // 1.0
        assertEquals(-3.0f, FloatFormats.bf16ToF32((short) 0xC040));
        assertEquals(0x00010000, bits(FloatFormats.bf16ToF32((short) 0x0001))); // smallest subnormal 2^-133
        assertEquals(0x1p-133f, FloatFormats.bf16ToF32((short) 0x0001));
        assertEquals(0x80010000, bits(FloatFormats.bf16ToF32((short) 0x8001))); // -2^-133
        assertEquals(0x80000000, bits(FloatFormats.bf16ToF32((short) 0x8000))); // -0.0
        assertEquals(Float.POSITIVE_INFINITY, FloatFormats.bf16ToF32((short) 0x7F80));
        assertEquals(Float.NEGATIVE_INFINITY, FloatFormats.bf16ToF32((short) 0xFF80));
        assertEquals(0x7FC00000, bits(FloatFormats.bf16ToF32((short) 0x7FC0))); // NaN, payload kept
        assertEquals(0xFFFF0000, bits(FloatFormats.bf16ToF32((short) 0xFFFF)));
        assertEquals(0.333984375f, FloatFormats.bf16ToF32((short) 0x3EAB));
    }

    @Test
    void f16WideningHandCases() {
        assertEquals(1.0f, FloatFormats.f16ToF32((short) 0x3C00));
        assertEquals(-2.0f, FloatFormats.f16ToF32((short) 0xC000));
        assertEquals(65504.0f, FloatFormats.f16ToF32((short) 0x7BFF)); // max half
        assertEquals(0x1p-24f, FloatFormats.f16ToF32((short) 0x0001)); // smallest subnormal
        assertEquals(1023 * 0x1p-24f, FloatFormats.f16ToF32((short) 0x03FF)); // largest subnormal
        assertEquals(0x1p-14f, FloatFormats.f16ToF32((short) 0x0400)); // smallest normal
        assertEquals(-0x1p-24f, FloatFormats.f16ToF32((short) 0x8001));
        assertEquals(0x80000000, bits(FloatFormats.f16ToF32((short) 0x8000))); // -0.0
        assertEquals(Float.POSITIVE_INFINITY, FloatFormats.f16ToF32((short) 0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, FloatFormats.f16ToF32((short) 0xFC00));
        assertEquals(0x7FC00000, bits(FloatFormats.f16ToF32((short) 0x7E00))); // quiet NaN
        assertEquals(0x7F802000, bits(FloatFormats.f16ToF32((short) 0x7C01))); // signalling payload kept
    }

    @Test
    void f16WideningMatchesTheIeeeFormulaForAllFiniteHalves() {
        for (int h = 0; h < 0x10000; h++) {
            int exp = (h >>> 10) & 0x1F;
            if (exp == 0x1F) {
                continue; // inf/NaN: hand cases above
            }
            int mant = h & 0x3FF;
            double magnitude = exp == 0 ? Math.scalb((double) mant, -24) : Math.scalb(1.0 + mant / 1024.0, exp - 15);
            double expected = (h & 0x8000) != 0 ? -magnitude : magnitude;
            assertEquals(bits((float) expected), bits(FloatFormats.f16ToF32((short) h)), "half 0x" + Integer.toHexString(h));
        }
    }

    @Test
    void f32ToBf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x3F800000))); // exact
        assertEquals((short) 0x3F80, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x3F807FFF))); // below half: down
        assertEquals((short) 0x3F80, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x3F808000))); // tie, even below
        assertEquals((short) 0x3F81, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x3F808001))); // above half: up
        assertEquals((short) 0x3F82, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x3F818000))); // tie, even above
        assertEquals((short) 0xBF80, FloatFormats.f32ToBf16(Float.intBitsToFloat(0xBF808000))); // negative tie
        assertEquals((short) 0xBF82, FloatFormats.f32ToBf16(Float.intBitsToFloat(0xBF818000)));
        assertEquals((short) 0x3EAB, FloatFormats.f32ToBf16(1.0f / 3.0f)); // 0x3EAAAAAB rounds up
        assertEquals((short) 0x0000, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x00008000))); // subnormal tie
        assertEquals((short) 0x0002, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x00018000)));
        assertEquals((short) 0x8000, FloatFormats.f32ToBf16(-0.0f));
        assertEquals((short) 0x7F80, FloatFormats.f32ToBf16(Float.MAX_VALUE)); // 0x7F7FFFFF overflows to inf
        assertEquals((short) 0x7F80, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x7F7F8000))); // tie to even = inf
        assertEquals((short) 0x7F7F, FloatFormats.f32ToBf16(Float.intBitsToFloat(0x7F7F7FFF)));
        assertEquals((short) 0x7F80, FloatFormats.f32ToBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0xFF80, FloatFormats.f32ToBf16(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x7FC0, FloatFormats.f32ToBf16(Float.NaN)); // canonical NaN, as c10::BFloat16
        assertEquals((short) 0x7FC0, FloatFormats.f32ToBf16(Float.intBitsToFloat(0xFFFFFFFF)));
    }
}
