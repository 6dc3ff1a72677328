package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Dtype casts that keep the autograd graph, which mixed precision needs inside the forward pass: float32 norms,
 * softmax and logits between half-precision matmuls. With the orpo4j-built JNI ({@link NativeFeatures}) this is
 * {@code toType}. DJL's own JNI casts under NoGradGuard, so there a widening cast goes through type promotion
 * ({@code x · 1} with a one-element array of the wider type) and a narrowing one through a cumulative product
 * over a new axis of length 1 with an output dtype: both identities whose backward hands the gradient through.
 */
public final class Casts {

    private Casts() {}

    /** True for the 16-bit float types of mixed precision. */
    public static boolean isHalf(DataType type) {
        return type == DataType.FLOAT16 || type == DataType.BFLOAT16;
    }

    /** The dtype arithmetic that must not run in half precision uses: float32 for half types, else {@code type}. */
    public static DataType wide(DataType type) {
        return isHalf(type) ? DataType.FLOAT32 : type;
    }

    /** Half-precision {@code x} widened to float32 on the graph; float32 and float64 {@code x} itself. */
    public static NDArray widen(NDArray x) {
        return to(x, wide(x.getDataType()));
    }

    /** {@code x} as {@code type}: {@code x} itself when it already is, else a copy on the graph. */
    public static NDArray to(NDArray x, DataType type) {
        if (x.getDataType() == type) {
            return x;
        }
        if (!GradMode.isEnabled() || NativeFeatures.differentiableCasts()) {
            return x.toType(type, false);
        }
        if (type.getNumOfBytes() > x.getDataType().getNumOfBytes()) {
            try (NDArray one = x.getManager().ones(new Shape(1), type, x.getDevice())) {
                return x.mul(one); // the graph holds its own reference to the factor
            }
        }
        return x.expandDims(-1).cumProd(-1, type).squeeze(-1);
    }
}
