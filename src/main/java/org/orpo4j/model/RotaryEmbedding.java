package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding (RoPE) the HF way: the rotated part of a head is split in halves that rotate together
 * ({@code rotate_half}, not interleaved pairs), at the frequencies of a {@link RopeSpec}. It has no trainable
 * state: the tables are computed in Java, in float32 as HF computes them.
 */
final class RotaryEmbedding {

    /** The cos and sin tables for a run of positions, each [T, R] (R = rotated dims, frequencies over both halves). */
    record Tables(NDArray cos, NDArray sin) {}

    private RotaryEmbedding() {}

    /**
     * cos/sin of {@code spec} [T, R] for positions {@code start .. start+length-1}, created in {@code manager} (the
     * step's), computed in float32, times longrope's attention factor, and handed over in the activations'
     * {@code dtype} (HF's {@code cos.to(x.dtype)}).
     */
    static Tables tables(RopeSpec spec, NDManager manager, long start, int length, DataType dtype) {
        long[] positions = new long[length];
        for (int t = 0; t < length; t++) {
            positions[t] = start + t;
        }
        return tables(spec, manager, positions, dtype);
    }

    /** As {@link #tables(RopeSpec, NDManager, long, int, DataType)} for arbitrary positions (packed pairs). */
    static Tables tables(RopeSpec spec, NDManager manager, long[] positions, DataType dtype) {
        int length = positions.length;
        int rotary = spec.rotaryDim();
        int half = rotary / 2;
        long longest = java.util.Arrays.stream(positions).max().orElse(-1) + 1; // HF: max(position_ids) + 1
        float[] invFreq = spec.inverseFrequencies(longest);
        float factor = (float) spec.attentionFactor();
        float[] cos = new float[length * rotary];
        float[] sin = new float[length * rotary];
        for (int t = 0; t < length; t++) {
            float position = positions[t];
            for (int i = 0; i < half; i++) {
                float angle = position * invFreq[i]; // fp32 like HF's inv_freq @ position_ids
                float c = (float) Math.cos(angle) * factor;
                float s = (float) Math.sin(angle) * factor;
                cos[t * rotary + i] = c;
                cos[t * rotary + half + i] = c;
                sin[t * rotary + i] = s;
                sin[t * rotary + half + i] = s;
            }
        }
        Shape shape = new Shape(length, rotary);
        return new Tables(manager.create(cos, shape).toType(dtype, false),
                manager.create(sin, shape).toType(dtype, false));
    }

    /**
     * x·cos + rotate_half(x)·sin on the first R dims of x [N, heads, T, D] (tables [T, R] broadcast over N and
     * heads); phi3's partial rotary passes the other D − R dims through.
     */
    static NDArray apply(NDArray x, Tables tables) {
        int last = x.getShape().dimension() - 1;
        long rotary = tables.cos().getShape().get(1);
        long dim = x.getShape().get(last);
        if (rotary == dim) {
            return rotate(x, tables);
        }
        NDList parts = x.split(new long[] {rotary}, last); // [.., R], [.., D − R]
        return NDArrays.concat(new NDList(rotate(parts.get(0), tables), parts.get(1)), last);
    }

    private static NDArray rotate(NDArray x, Tables tables) {
        return x.mul(tables.cos()).add(rotateHalf(x).mul(tables.sin()));
    }

    /** [x1, x2] -> [-x2, x1] over the last axis, the two halves of the rotated part. */
    static NDArray rotateHalf(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDList halves = x.split(2, last);
        return NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), last);
    }
}
