package org.orpo4j.loss;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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

    /** Per-row token counts: completion tokens of every row, NLL tokens of every chosen row. */
    record TokenCounts(long[] completion, long[] nll) {}

    /**
     * Counts each row's completion and NLL tokens and checks, in one small device-to-host transfer made before any
     * gather could index outside the vocabulary, that every row has a completion and every id is in [0, vocab).
     *
     * @param completion    [2B, T-1] boolean, labels != -100
     * @param chosenNllMask [B, T-1] boolean, the NLL positions of the chosen rows
     * @param safeLabels    [2B, T-1] int64 labels with -100 replaced by 0
     * @param safeIds       [2B, T-1] int64 predicted ids with padding replaced by 0
     */
    static TokenCounts countAndCheck(NDArray completion, NDArray chosenNllMask, NDArray safeLabels, NDArray safeIds,
            long vocab) {
        int rows = Math.toIntExact(completion.getShape().get(0));
        int pairs = rows / 2;
        int[] perRow = {1};
        long[] host = NDArrays.concat(new NDList(count(completion), count(chosenNllMask),
                        safeLabels.min(perRow), safeLabels.max(perRow), safeIds.min(perRow), safeIds.max(perRow)))
                .toLongArray();
        long[] completionTokens = slice(host, 0, rows);
        RowStats.requireCompletions(completionTokens);
        int at = rows + pairs;
        requireVocabulary("labels", slice(host, at, rows), slice(host, at + rows, rows), vocab, pairs);
        requireVocabulary("inputIds", slice(host, at + 2 * rows, rows), slice(host, at + 3 * rows, rows), vocab, pairs);
        return new TokenCounts(completionTokens, slice(host, rows, pairs));
    }

    /** [N, T-1] boolean -> [N] int64 count of true values. */
    private static NDArray count(NDArray mask) {
        return mask.toType(DataType.INT64, false).sum(new int[] {1});
    }

    /** Names the first row holding a token id outside [0, vocab), given per-row minima and maxima. */
    private static void requireVocabulary(String name, long[] min, long[] max, long vocab, int pairs) {
        for (int i = 0; i < min.length; i++) {
            if (min[i] < 0 || max[i] >= vocab) {
                long bad = min[i] < 0 ? min[i] : max[i];
                throw new IllegalArgumentException(name + " of " + RowStats.describeRow(i, pairs) + " hold token id "
                        + bad + " outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    private static long[] slice(long[] values, int from, int length) {
        long[] out = new long[length];
        System.arraycopy(values, from, out, 0, length);
        return out;
    }
}
