package org.orpo4j.quantization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;

/**
 * bitsandbytes' 8-bit blockwise quantization as its CPU library computes it, used for the nested ("double")
 * quantization of the 4-bit absmax values: the {@link #dynamicMap} code of 256 values, and per block of values
 * {@code absmax = max|x|} and the index of {@code x / absmax} found through bitsandbytes' 65 536-entry lookup table
 * (the nearest code value of the bin the scaled value rounds to, so not always the nearest value itself).
 */
public final class Blockwise8bit {

    private static final int LUT_SIZE = 65536;

    private static float[] map; // the dynamic map, once computed (it depends only on libtorch's kernels)
    private static float[] lutCode; // the code the cached lookup table was built for
    private static byte[] lut;

    private Blockwise8bit() {}

    /** The quantized values (one byte each) and the absmax of each block. */
    public record Result(byte[] codes, float[] absmax) {}

    /**
     * {@code create_dynamic_map(signed=True)}: for exponents 10^-6 .. 10^0, the midpoints of {@code 2^i + 1}
     * points spaced evenly over [0.1, 1] ({@code torch.linspace}, computed by libtorch itself, whose vectorised
     * kernel the float32 result depends on) times the power of ten, both signs, then 0 and 1, sorted.
     */
    public static synchronized float[] dynamicMap(NDManager manager) {
        if (map == null) {
            map = createDynamicMap(manager);
        }
        return map.clone();
    }

    private static float[] createDynamicMap(NDManager manager) {
        double[] powers = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
        List<Float> data = new ArrayList<>();
        for (int i = 0; i < powers.length; i++) {
            float[] points;
            try (NDArray linspace = manager.linspace(0.1f, 1f, (1 << i) + 1)) {
                points = linspace.toFloatArray();
            }
            float scale = (float) powers[i];
            for (int k = 0; k + 1 < points.length; k++) {
                float mean = (points[k] + points[k + 1]) / 2f;
                data.add(scale * mean);
                data.add(-scale * mean);
            }
        }
        data.add(0f);
        data.add(1f);
        float[] map = new float[data.size()];
        for (int i = 0; i < map.length; i++) {
            map[i] = data.get(i);
        }
        java.util.Arrays.sort(map);
        return map;
    }

    /**
     * Quantizes {@code values} in blocks of {@code blocksize} with the sorted 256-value {@code code}: absmax per
     * block, a zero block all index 0, else each value's index through the lookup table.
     */
    public static Result quantize(float[] values, float[] code, int blocksize) {
        byte[] lut = cachedLookupTable(code);
        int blocks = (values.length + blocksize - 1) / blocksize;
        byte[] out = new byte[values.length];
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            int start = b * blocksize;
            int end = Math.min(values.length, start + blocksize);
            float max = 0;
            for (int i = start; i < end; i++) {
                max = Math.max(max, Math.abs(values[i]));
            }
            absmax[b] = max;
            if (max == 0) {
                continue; // the codes stay 0
            }
            float inverse = 1f / max;
            for (int i = start; i < end; i++) {
                out[i] = lut[lutIndex(values[i] * inverse)];
            }
        }
        return new Result(out, absmax);
    }

    private static synchronized byte[] cachedLookupTable(float[] code) {
        if (!java.util.Arrays.equals(code, lutCode)) {
            lut = lookupTable(code);
            lutCode = code.clone();
        }
        return lut;
    }

    /**
     * The table bitsandbytes builds once per code: bin {@code i} of 65 536 over [-1, 1] (its centre
     * {@code -1 + 2i / 65535}) holds the first code index whose upper midpoint is not below the centre.
     */
    static byte[] lookupTable(float[] code) {
        float[] midpoints = new float[code.length - 1];
        for (int i = 0; i < midpoints.length; i++) {
            midpoints[i] = 0.5f * (code[i] + code[i + 1]);
        }
        byte[] lut = new byte[LUT_SIZE];
        int index = 0;
        for (int i = 0; i < LUT_SIZE; i++) {
            float centre = -1f + (2f * i) / (LUT_SIZE - 1);
            while (index < midpoints.length && midpoints[index] < centre) {
                index++;
            }
            lut[i] = (byte) index;
        }
        return lut;
    }

    /** The bin of a scaled value: {@code (clamp(x, -1, 1) + 1) · 0.5 · 65535 + 0.5}, truncated. */
    static int lutIndex(float scaled) {
        float x = Math.min(1f, Math.max(-1f, scaled));
        return (int) ((x + 1f) * 0.5f * (LUT_SIZE - 1) + 0.5f);
    }
}
