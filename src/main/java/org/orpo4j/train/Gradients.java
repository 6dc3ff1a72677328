package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Collection;
import java.util.Map;
import org.orpo4j.runtime.GradMode;
import org.orpo4j.runtime.GradientTensors;
import org.orpo4j.runtime.Scalars;

/**
 * Whole-model gradient operations: the global L2 norm with torch's {@code clip_grad_norm_} clipping, and zeroing
 * (DJL's collector only ever accumulates; {@code zero_()} also clears NaN, which {@code g - g} would not).
 */
public final class Gradients {

    private Gradients() {}

    /**
     * Clips the gradients of {@code params} in place to global L2 norm {@code maxNorm} (skipped when
     * {@code maxNorm <= 0}) and returns the norm BEFORE clipping (HF's {@code grad_norm}). Like torch, the norm is
     * the norm of the per-tensor norms in float32 and the scale is {@code maxNorm / (norm + 1e-6)} when it is below
     * 1. A non-finite norm is returned without touching the gradients.
     */
    public static double clipGlobalNorm(Collection<NDArray> params, double maxNorm) {
        try (GradMode noGrad = GradMode.enabled(false); NDScope scope = new NDScope()) {
            NDList norms = new NDList(params.size());
            for (NDArray p : params) {
                norms.add(p.getGradient().norm()); // [] per tensor
            }
            float total = NDArrays.stack(norms).norm().getFloat();
            if (maxNorm > 0 && Float.isFinite(total)) {
                float coef = (float) maxNorm / (total + 1e-6f);
                if (coef < 1f) {
                    NDArray factor = Scalars.like(norms.get(0), coef); // one host scalar for every tensor
                    for (NDArray p : params) {
                        p.getGradient().muli(factor);
                    }
                }
            }
            return total;
        }
    }

    /** Name of the first parameter whose gradient holds NaN or Inf, or null (for the non-finite warning). */
    public static String firstNonFinite(Map<String, NDArray> params) {
        try (GradMode noGrad = GradMode.enabled(false); NDScope scope = new NDScope()) {
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                if (!Float.isFinite(e.getValue().getGradient().abs().max().getFloat())) {
                    return e.getKey();
                }
            }
        }
        return null;
    }

    /**
     * Sets every parameter's gradient to zero (after an optimizer step, or after a skipped one), creating the
     * gradients that do not exist yet: a dense gradient in place before each backward is what the chunked loss
     * and the sparse embedding backward add into.
     */
    public static void zero(Collection<NDArray> params) {
        GradientTensors.materialize(params);
        for (NDArray p : params) {
            JniUtils.zeroGrad((PtNDArray) p);
        }
    }
}
