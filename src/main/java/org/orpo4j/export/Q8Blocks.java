package org.orpo4j.export;

import java.nio.ByteBuffer;

/**
 * ggml's Q8_0 quantization ({@code quantize_row_q8_0_ref}): each block of 32 values stores the scale
 * {@code d = max|x| / 127} as float16 and the values as {@code round(x / d)} in int8, rounding halves away from zero;
 * every step in float32, so the bytes equal ggml's and the gguf package's.
 */
final class Q8Blocks {

    static final int BLOCK = 32;

    private Q8Blocks() {}

    /** Appends the blocks of {@code x[from, from + length)} ({@code length} a multiple of 32) to {@code out}. */
    static void quantize(float[] x, int from, int length, ByteBuffer out) {
        for (int b = from; b < from + length; b += BLOCK) {
            float amax = 0;
            for (int i = 0; i < BLOCK; i++) {
                amax = Math.max(amax, Math.abs(x[b + i]));
            }
            float d = amax / 127f;
            float id = d == 0 ? 0f : 1f / d;
            out.putShort(GgmlFloats.toF16(d));
            for (int i = 0; i < BLOCK; i++) {
                out.put((byte) roundHalfAway(x[b + i] * id));
            }
        }
    }

    /** numpy's np_roundf in the gguf package: floor(|v|) plus one when the fraction is at least one half. */
    private static int roundHalfAway(float v) {
        float a = Math.abs(v);
        float floor = (float) Math.floor(a);
        float r = floor + (float) Math.floor(2 * (a - floor));
        return (int) Math.copySign(r, v);
    }
}
