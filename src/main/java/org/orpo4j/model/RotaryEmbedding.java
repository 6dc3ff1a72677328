package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding (RoPE) the HF way: the head vector is split in halves that rotate together
 * ({@code rotate_half}, not interleaved pairs), with inverse frequencies {@code theta^(-2i/D)}, optionally
 * rescaled by the {@code llama3} rope scaling. It has no trainable state: the tables are computed in Java.
 */
final class RotaryEmbedding {

    /** The cos and sin tables for a run of positions, each [T, D] (frequencies repeated over both halves). */
    record Tables(NDArray cos, NDArray sin) {}

    private final int headDim;
    private final float[] invFreq; // [D/2]

    RotaryEmbedding(ModelConfig config) {
        this.headDim = config.headDim();
        this.invFreq = inverseFrequencies(headDim, config.ropeTheta(), config.ropeScaling());
    }

    /** HF's {@code 1 / theta^(2i/D)}, with llama3 scaling applied when configured. */
    static float[] inverseFrequencies(int headDim, double theta, ModelConfig.RopeScaling scaling) {
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            double freq = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
            inv[i] = (float) (scaling == null ? freq : llama3(freq, scaling));
        }
        return inv;
    }

    /**
     * Llama 3.1's frequency rescaling: wavelengths longer than {@code original/low_freq_factor} are stretched by
     * {@code factor}, those shorter than {@code original/high_freq_factor} kept, and the band between blended.
     */
    private static double llama3(double freq, ModelConfig.RopeScaling s) {
        double original = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = original / s.lowFreqFactor();
        double highFreqWavelen = original / s.highFreqFactor();
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) {
            return freq;
        }
        if (wavelen > lowFreqWavelen) {
            return freq / s.factor();
        }
        double smooth = (original / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }

    /**
     * cos/sin for positions {@code start .. start+length-1}, created in {@code manager} (the step's), computed in
     * float32 and handed over in the activations' {@code dtype} (HF's {@code cos.to(x.dtype)}).
     */
    Tables tables(NDManager manager, long start, int length, DataType dtype) {
        int half = headDim / 2;
        float[] cos = new float[length * headDim];
        float[] sin = new float[length * headDim];
        for (int t = 0; t < length; t++) {
            float position = start + t;
            for (int i = 0; i < half; i++) {
                float angle = position * invFreq[i]; // fp32 like HF's inv_freq @ position_ids
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[t * headDim + i] = c;
                cos[t * headDim + half + i] = c;
                sin[t * headDim + i] = s;
                sin[t * headDim + half + i] = s;
            }
        }
        Shape shape = new Shape(length, headDim);
        return new Tables(manager.create(cos, shape).toType(dtype, false),
                manager.create(sin, shape).toType(dtype, false));
    }

    /** x·cos + rotate_half(x)·sin for x [N, heads, T, D] and tables [T, D] (broadcast over N and heads). */
    static NDArray apply(NDArray x, Tables tables) {
        return x.mul(tables.cos()).add(rotateHalf(x).mul(tables.sin()));
    }

    /** [x1, x2] -> [-x2, x1] over the last axis, the two halves of the head. */
    static NDArray rotateHalf(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDList halves = x.split(2, last);
        return NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), last);
    }
}
