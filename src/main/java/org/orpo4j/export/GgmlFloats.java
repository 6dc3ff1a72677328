package org.orpo4j.export;

/**
 * float32 to the 16-bit formats as ggml stores them: IEEE half with round-to-nearest-even (numpy's
 * {@code astype(float16)}, ggml's {@code GGML_FP32_TO_FP16}) and bfloat16 as {@code ggml_compute_fp32_to_bf16}, which
 * differs from torch's only for NaN (kept with its sign and top bits, made quiet).
 */
final class GgmlFloats {

    private GgmlFloats() {}

    /** IEEE half bits of {@code value}, rounded to nearest even; overflow gives infinity, NaN stays NaN. */
    static short toF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) { // inf or NaN: NaN keeps its top mantissa bits and stays NaN
            int mant = abs > 0x7F800000 ? 0x200 | ((abs >>> 13) & 0x3FF) : 0;
            return (short) (sign | 0x7C00 | mant);
        }
        if (abs >= 0x477FF000) { // rounds to 65520 or more: infinity
            return (short) (sign | 0x7C00);
        }
        if (abs < 0x38800000) { // below the smallest normal half (2^-14): a subnormal or zero
            float magnitude = Float.intBitsToFloat(abs);
            // the subnormal step is 2^-24; Math.rint rounds half to even
            int q = (int) Math.rint(magnitude * 0x1p24);
            return (short) (sign | q);
        }
        int exp = (abs >>> 23) - 127 + 15;
        int mant = abs & 0x7FFFFF;
        int half = (exp << 10) | (mant >>> 13);
        int rest = mant & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++; // may carry into the exponent, which is the correct rounding
        }
        return (short) (sign | half);
    }

    /** bfloat16 bits as ggml computes them: NaN made quiet, everything else rounded to nearest even. */
    static short toBf16(float value) {
        int n = Float.floatToRawIntBits(value);
        if ((n & 0x7FFFFFFF) > 0x7F800000) {
            return (short) (((n & 0xFFFF0000) | (64 << 16)) >>> 16);
        }
        long rounded = ((n & 0xFFFFFFFFL) + (0x7FFF + ((n >>> 16) & 1))) >>> 16;
        return (short) rounded;
    }
}
