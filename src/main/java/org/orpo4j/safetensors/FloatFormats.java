package org.orpo4j.safetensors;

/**
 * Bit-exact conversions between float32 and the 16-bit formats, done in Java because creating a BF16/F16 NDArray
 * on DJL's CPU engine aborts the JVM.
 */
public final class FloatFormats {

    private FloatFormats() {}

    /** bfloat16 is the top half of a float32, so widening is exact: the bits shifted left by 16. */
    public static float bf16ToF32(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * float32 to bfloat16 with round-to-nearest-even, exactly as torch's {@code c10::BFloat16}: NaN becomes the
     * canonical 0x7FC0, everything else adds {@code 0x7FFF + lsb} and truncates (overflowing to infinity).
     */
    public static short f32ToBf16(float value) {
        if (Float.isNaN(value)) {
            return (short) 0x7FC0;
        }
        int bits = Float.floatToRawIntBits(value);
        int roundingBias = ((bits >>> 16) & 1) + 0x7FFF;
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** IEEE half to float32, exact (every half value, subnormals included, is a float32); NaN payloads kept. */
    public static float f16ToF32(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) { // inf / NaN
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) { // zero or subnormal: mant * 2^-24, exact in float32
            float magnitude = mant * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
