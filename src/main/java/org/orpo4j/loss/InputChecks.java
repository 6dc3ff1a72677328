package org.orpo4j.loss;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/** Host-side checks of the loss inputs' shapes and dtypes: cheap, and they name the array at fault. */
final class InputChecks {

    private InputChecks() {}

    /** Validates logits [2B, T, V] against the three [2B, T] integer arrays and returns the logits' shape. */
    static Shape check(NDArray logits, NDArray inputIds, NDArray attentionMask, NDArray labels) {
        Objects.requireNonNull(logits, "logits");
        Objects.requireNonNull(inputIds, "inputIds");
        Objects.requireNonNull(attentionMask, "attentionMask");
        Objects.requireNonNull(labels, "labels");
        DataType type = logits.getDataType();
        if (type != DataType.FLOAT32 && type != DataType.FLOAT64) {
            // DJL's toType cuts the autograd graph, so a silent upcast here would train nothing
            throw new IllegalArgumentException("logits must be FLOAT32 or FLOAT64 (got " + type
                    + "); produce float32 logits in the model, toType is not differentiable in DJL");
        }
        Shape shape = logits.getShape();
        if (shape.dimension() != 3) {
            throw new IllegalArgumentException("logits must be [2B, T, V], got shape " + shape);
        }
        long rows = shape.get(0);
        if (rows == 0 || rows % 2 != 0) {
            throw new IllegalArgumentException("logits has " + rows
                    + " rows; ORPO needs an even number 2B > 0 (B chosen rows, then B rejected rows)");
        }
        if (shape.get(1) < 2) {
            throw new IllegalArgumentException(
                    "logits has sequence length " + shape.get(1) + "; the shifted loss needs T >= 2");
        }
        if (shape.get(2) < 1) {
            throw new IllegalArgumentException("logits has an empty vocabulary axis: shape " + shape);
        }
        Shape expected = new Shape(rows, shape.get(1));
        requireTokens("inputIds", inputIds, expected, shape, false);
        requireTokens("attentionMask", attentionMask, expected, shape, true);
        requireTokens("labels", labels, expected, shape, false);
        return shape;
    }

    private static void requireTokens(String name, NDArray array, Shape expected, Shape logits, boolean maskOk) {
        if (!array.getShape().equals(expected)) {
            throw new IllegalArgumentException(name + " has shape " + array.getShape() + " but logits has shape "
                    + logits + "; expected " + name + " of shape " + expected);
        }
        DataType type = array.getDataType();
        if (!type.isInteger() && !(maskOk && type.isBoolean())) {
            throw new IllegalArgumentException(name + " must hold integers, got " + type);
        }
    }

    /** Token ids as INT64 on {@code device} (gather and indexing want int64 indices). */
    static NDArray tokens(NDArray array, Device device) {
        return array.toDevice(device, false).toType(DataType.INT64, false);
    }

    /** [N, T-1] boolean -> [N] int64 count of true values. */
    static NDArray count(NDArray mask) {
        return mask.toType(DataType.INT64, false).sum(new int[] {1});
    }

    /** Names the first row holding a token id outside [0, vocab), given per-row minima and maxima. */
    static void requireVocabulary(String name, long[] min, long[] max, long vocab, int pairs) {
        for (int i = 0; i < min.length; i++) {
            if (min[i] < 0 || max[i] >= vocab) {
                long bad = min[i] < 0 ? min[i] : max[i];
                throw new IllegalArgumentException(name + " of " + RowStats.describeRow(i, pairs) + " hold token id "
                        + bad + " outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    static long[] slice(long[] values, int from, int length) {
        long[] out = new long[length];
        System.arraycopy(values, from, out, 0, length);
        return out;
    }
}
