package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

/**
 * RMSNorm as in HF's {@code LlamaRMSNorm}: {@code w · x / sqrt(mean(x²) + eps)} over the last axis, computed in
 * fp32 whatever the input dtype (a half-precision mean of squares loses too much).
 */
final class RmsNorm extends Module {

    private final Parameter weight; // [dim]
    private final float eps;

    RmsNorm(long dim, double eps) {
        this.weight = addParameter("weight", Parameter.Type.GAMMA, new Shape(dim));
        this.eps = (float) eps;
    }

    /** [..., dim] -> [..., dim]. */
    NDArray forward(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDArray x32 = x.toType(DataType.FLOAT32, false);
        NDArray meanSquare = x32.square().mean(new int[] {last}, true); // [..., 1]
        NDArray normed = x32.div(meanSquare.add(eps).sqrt()); // [..., dim]
        return normed.toType(x.getDataType(), false).mul(weight.getArray());
    }
}
