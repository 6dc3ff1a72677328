package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.Scalars;

/**
 * RMSNorm over the last axis, {@code x̂ = x / sqrt(mean(x²) + eps)}, computed in float32 whatever the input dtype (a
 * half-precision mean of squares loses too much), then the weight applied the way the family's HF class does.
 */
final class RmsNorm extends Module {

    /** How the weight applies. */
    enum Style {
        /** {@code w · cast(x̂)}: cast back to the input's dtype first, then the weight (LlamaRMSNorm). */
        WEIGHT,
        /** {@code cast(x̂ · (1 + w))}, all in float32: the weight is centred on 0 (GemmaRMSNorm). */
        ONE_PLUS_WEIGHT
    }

    private final Weight weight; // [dim]
    private final float eps;
    private final Style style;

    RmsNorm(long dim, double eps, Style style) {
        Weight.Kind kind = style == Style.WEIGHT ? Weight.Kind.NORM : Weight.Kind.CENTRED_NORM;
        this.weight = addParameter("weight", kind, new Shape(dim));
        this.eps = (float) eps;
        this.style = style;
    }

    /** [..., dim] -> [..., dim]. */
    NDArray forward(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDArray x32 = Casts.to(x, DataType.FLOAT32);
        NDArray meanSquare = x32.square().mean(new int[] {last}, true); // [..., 1]
        NDArray normed = x32.div(meanSquare.add(Scalars.like(meanSquare, eps)).sqrt()); // [..., dim]
        if (style == Style.WEIGHT) {
            return Casts.to(normed, x.getDataType()).mul(weight.array());
        }
        NDArray onePlusW = Casts.to(weight.array(), DataType.FLOAT32).add(1f); // [dim]
        return Casts.to(normed.mul(onePlusW), x.getDataType());
    }
}
