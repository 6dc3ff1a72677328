package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;

/**
 * torch's {@code scaled_dot_product_attention} through orpo4j's JNI ({@code src/main/native/orpo4j/orpo4j_attention.cc}):
 * transformers' {@code attn_implementation="sdpa"}. One fused kernel per call (flash attention on the CPU, flash or
 * memory-efficient attention on CUDA) that neither materialises nor saves the [N, H, T, S] attention probabilities,
 * so attention's memory grows with T instead of T². It records autograd history like any DJL op. Where orpo4j's JNI
 * is not loaded (DJL's own, or a build without this function) {@link #available()} says so.
 */
public final class FusedAttention {

    private static Boolean available;

    private FusedAttention() {}

    /** Whether the loaded JNI has the fused attention (a call without tensors binds it or fails to). */
    public static synchronized boolean available() {
        if (available == null) {
            available = NativeExtension.binds(() -> sdpa(0, 0, 0, 0, false, 1));
        }
        return available;
    }

    /**
     * {@code softmax(q·kᵀ·scale + mask)·v}, attached to {@code q}'s manager.
     *
     * @param q [N, Hq, T, D]
     * @param k [N, Hq, S, D] (grouped K/V heads repeated: torch 2.7's fused CPU kernels take equal head counts only)
     * @param v [N, Hq, S, D]
     * @param mask additive [N|1, 1, T, S] (any float dtype: hidden keys become the query dtype's lowest value), or
     *     null when {@code causal} or nothing is hidden
     * @param causal key {@code j} hidden from query {@code i} when {@code j > i} (T = S), without a mask array
     * @return [N, Hq, T, D] in q's dtype
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, NDArray mask, boolean causal, double scale) {
        long handle = sdpa(handle(q), handle(k), handle(v), mask == null ? 0 : handle(mask), causal, scale);
        return new PtNDArray((PtNDManager) q.getManager(), handle);
    }

    private static long handle(NDArray array) {
        return ((PtNDArray) array).getHandle();
    }

    private static native long sdpa(long q, long k, long v, long mask, boolean causal, double scale);
}
