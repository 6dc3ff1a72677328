package org.orpo4j.quantization;

import java.util.Arrays;
import java.util.Locale;

/**
 * The two 4-bit code books of bitsandbytes ({@code bnb_4bit_quant_type}): NF4, the 16 quantiles of a standard normal
 * scaled to [-1, 1] (QLoRA, arXiv 2305.14314), and FP4, a 1-2-1 float (sign, two exponent bits, one mantissa bit)
 * scaled by its largest value. A value {@code x / absmax} of a block becomes the index of the nearest entry, ties
 * going to the smaller entry (bitsandbytes' CPU path: {@code torch.bucketize} over the sorted midpoints).
 */
public enum QuantType {

    /** {@code get_4bit_type("nf4")}: the values bitsandbytes hard-codes, float32, ascending. */
    NF4("nf4", new float[] {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f,
        0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f,
        0.5626170039176941f, 0.7229568362236023f, 1.0f}),

    /**
     * {@code get_4bit_type("fp4")}: bit patterns {@code s e e m} in index order (0, 0.0625, 8, 12, 4, 6, 2, 3 and
     * their negatives; {@code -0} is written as the integer 0, so both zeros are +0), divided by 12 in float32.
     */
    FP4("fp4", fp4Code());

    private final String bnbName;
    private final float[] code; // index -> value
    private final float[] midpoints; // between consecutive values in ascending order (15), then +inf
    private final byte[] sortedToIndex; // ascending position -> index

    QuantType(String bnbName, float[] code) {
        this.bnbName = bnbName;
        this.code = code;
        Integer[] order = new Integer[16];
        for (int i = 0; i < 16; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(code[a], code[b])); // stable: FP4's two zeros keep index order
        this.sortedToIndex = new byte[16];
        this.midpoints = new float[16];
        midpoints[15] = Float.POSITIVE_INFINITY;
        for (int i = 0; i < 16; i++) {
            sortedToIndex[i] = (byte) (int) order[i];
            if (i > 0) {
                midpoints[i - 1] = (code[order[i - 1]] + code[order[i]]) / 2;
            }
        }
    }

    private static float[] fp4Code() {
        float[] bits = {0, 0.0625f, 8, 12, 4, 6, 2, 3, 0, -0.0625f, -8, -12, -4, -6, -2, -3};
        float[] code = new float[16];
        for (int i = 0; i < 16; i++) {
            code[i] = bits[i] / 12f;
        }
        return code;
    }

    /** The name bitsandbytes, transformers and TRL use: {@code nf4} or {@code fp4}. */
    public String bnbName() {
        return bnbName;
    }

    /** The 16 values, by 4-bit index (a copy). */
    public float[] code() {
        return code.clone();
    }

    /** The value of 4-bit index {@code q}. */
    public float value(int q) {
        return code[q];
    }

    /**
     * The 4-bit index of {@code scaled} (a value in [-1, 1]): the nearest entry, a value exactly between two going
     * to the smaller one, as {@code torch.bucketize(scaled, midpoints)} followed by FP4's index remapping.
     */
    public int quantize(float scaled) {
        float[] m = midpoints; // 15 ascending, then +inf: count those strictly below scaled, branch-free bisection
        int p = m[7] < scaled ? 8 : 0;
        p += m[p + 3] < scaled ? 4 : 0;
        p += m[p + 1] < scaled ? 2 : 0;
        p += m[p] < scaled ? 1 : 0;
        return sortedToIndex[p];
    }

    /** {@code nf4} or {@code fp4} (any case); anything else is an {@link IllegalArgumentException} naming both. */
    public static QuantType parse(String name) {
        for (QuantType t : values()) {
            if (t.bnbName.equals(name.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown 4-bit quant type '" + name + "' (nf4 or fp4)");
    }

    @Override
    public String toString() {
        return bnbName;
    }
}
