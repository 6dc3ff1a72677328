package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Collection;
import java.util.List;

/**
 * A parameter's own PyTorch gradient tensor. Until a first backward has created it, DJL's {@code getGradient()}
 * hands back fresh zeros unrelated to the parameter, so code that adds into the gradient in place (the chunked
 * loss) or needs it to exist as a dense tensor (the sparse embedding backward) asks here.
 */
public final class GradientTensors {

    private GradientTensors() {}

    /** A handle to {@code parameter}'s gradient tensor (close the handle, not the gradient), or null when none exists. */
    public static NDArray existing(NDArray parameter) {
        return JniUtils.getGradient((PtNDArray) parameter);
    }

    /** A handle to {@code parameter}'s gradient tensor, created as dense zeros first when none exists. */
    public static NDArray of(NDArray parameter) {
        NDArray grad = existing(parameter);
        if (grad == null) {
            materialize(List.of(parameter));
            grad = existing(parameter);
        }
        return grad;
    }

    /**
     * Gives every parameter that has no gradient yet a dense zero one, through a backward pass of
     * {@code 0 · Σ p} (so PyTorch itself creates them, laid out as it would).
     */
    public static void materialize(Collection<NDArray> parameters) {
        try (GradMode on = GradMode.enabled(true)) {
            for (NDArray p : parameters) {
                NDArray existing = existing(p);
                if (existing != null) {
                    existing.close();
                    continue;
                }
                try (NDArray sum = p.sum(); NDArray zero = Scalars.like(sum, 0); NDArray target = sum.mul(zero);
                        NDArray seed = target.onesLike()) {
                    JniUtils.backward((PtNDArray) target, (PtNDArray) seed, false, false);
                }
            }
        }
    }
}
