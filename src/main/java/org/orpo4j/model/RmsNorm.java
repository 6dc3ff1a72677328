package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.Scalars;

/**
 * RMSNorm as in HF's {@code LlamaRMSNorm}: {@code w · x / sqrt(mean(x²) + eps)} over the last axis, computed in
 * fp32 whatever the input dtype (a half-precision mean of squares loses too much), then cast back to the input's
 * dtype before the weight, as HF does.
 */
final class RmsNorm extends Module {

    private final Weight weight; // [dim]
    private final float eps;

    RmsNorm(long dim, double eps) {
        this.weight = addParameter("weight", Weight.Kind.NORM, new Shape(dim));
        this.eps = (float) eps;
    }

    /** [..., dim] -> [..., dim]. */
    NDArray forward(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDArray x32 = Casts.to(x, DataType.FLOAT32);
        NDArray meanSquare = x32.square().mean(new int[] {last}, true); // [..., 1]
        NDArray normed = x32.div(meanSquare.add(Scalars.like(meanSquare, eps)).sqrt()); // [..., dim]
        return Casts.to(normed, x.getDataType()).mul(weight.array());
    }
}
