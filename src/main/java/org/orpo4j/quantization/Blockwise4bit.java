package org.orpo4j.quantization;

/**
 * bitsandbytes' {@code quantize_4bit} on the CPU, fed a tensor's values in consecutive chunks so that no float copy
 * of a whole weight is ever needed: per block of {@code blocksize} values (the flat tensor cut in order, the last
 * block possibly shorter), {@code absmax = max|x|}, each value becomes the code-book index of
 * {@code clamp(x * (1 / absmax), -1, 1)} (the shorter last block divides: {@code x / absmax}), and two indices share a
 * byte, the first in the high nibble; an odd count pads with the index of 0. The float operations are the ones
 * bitsandbytes' torch code performs, in the same order, so codes and absmax are equal to its bit for bit.
 */
public final class Blockwise4bit {

    /** The divisor bitsandbytes clamps a block's absmax to before dividing ({@code clamp(min=1e-38)}). */
    private static final float TINY = 1e-38f;

    private final QuantType type;
    private final int blocksize;
    private final long numel;
    private final byte[] packed; // (numel + 1) / 2
    private final float[] absmax; // ceil(numel / blocksize)
    private final int zero; // the index of 0, which pads an odd count
    private long filled;

    /** A quantizer for a tensor of {@code numel} values. */
    public Blockwise4bit(QuantType type, int blocksize, long numel) {
        if (blocksize <= 0 || blocksize % 2 != 0) {
            throw new IllegalArgumentException("blocksize " + blocksize + " must be positive and even");
        }
        long bytes = (numel + 1) / 2;
        if (numel <= 0 || bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("cannot quantize a tensor of " + numel + " values into one array");
        }
        this.type = type;
        this.blocksize = blocksize;
        this.numel = numel;
        this.packed = new byte[(int) bytes];
        this.absmax = new float[Math.toIntExact((numel + blocksize - 1) / blocksize)];
        this.zero = type.quantize(0f);
    }

    /**
     * Quantizes the next {@code count} values, {@code values[from, from + count)}: whole blocks, except for the
     * chunk that ends the tensor.
     */
    public void add(float[] values, int from, int count) {
        if (filled + count > numel || (filled + count < numel && count % blocksize != 0)) {
            throw new IllegalArgumentException("chunk of " + count + " values at " + filled + " of " + numel
                    + ": chunks are whole blocks of " + blocksize + " until the last");
        }
        for (int start = 0; start < count; start += blocksize) {
            block(values, from + start, Math.min(blocksize, count - start));
        }
    }

    private void block(float[] values, int from, int len) {
        float max = 0;
        for (int i = 0; i < len; i++) {
            max = Math.max(max, Math.abs(values[from + i]));
        }
        int b = (int) (filled / blocksize);
        // torch: a whole block is A * (1.0 / absmax.clamp(min=1e-38)), its absmax kept as it was; the shorter last
        // block is A / am with am = absmax.clamp(min=1e-38), and am is what is kept
        boolean whole = len == blocksize;
        float am = Math.max(max, TINY);
        absmax[b] = whole ? max : am;
        float inverse = 1f / am; // only whole blocks multiply by it
        int at = (int) (filled / 2);
        int pairs = len / 2;
        if (whole) {
            for (int k = 0, i = from; k < pairs; k++, i += 2) {
                packed[at++] = (byte) (type.quantize(clamp(values[i] * inverse)) << 4
                        | type.quantize(clamp(values[i + 1] * inverse)));
            }
        } else {
            for (int k = 0, i = from; k < pairs; k++, i += 2) {
                packed[at++] = (byte) (type.quantize(clamp(values[i] / am)) << 4
                        | type.quantize(clamp(values[i + 1] / am)));
            }
            if (len % 2 != 0) {
                packed[at] = (byte) (type.quantize(clamp(values[from + len - 1] / am)) << 4 | zero);
            }
        }
        filled += len;
    }

    private static float clamp(float x) {
        return Math.min(1f, Math.max(-1f, x));
    }

    /** True once every value has been added. */
    public boolean complete() {
        return filled == numel;
    }

    /** The packed codes, {@code (numel + 1) / 2} bytes (the array itself). */
    public byte[] packed() {
        requireComplete();
        return packed;
    }

    /** The absmax of each block (the array itself). */
    public float[] absmax() {
        requireComplete();
        return absmax;
    }

    private void requireComplete() {
        if (!complete()) {
            throw new IllegalStateException("quantized " + filled + " of " + numel + " values");
        }
    }
}
