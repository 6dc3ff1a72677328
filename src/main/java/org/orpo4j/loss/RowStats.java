package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * Stage 1 of the ORPO loss: the per-row sums everything else is derived from. Rows are the 2B rows of the batch,
 * chosen rows first. Any path that produces these sums (full logits here, hidden states chunk by chunk later) can
 * hand them to {@link OrpoLoss#fromRowStats} and gets the same loss and metrics.
 *
 * @param logpSum          [2B] Σ log p(label) over each row's completion tokens (labels[:, 1:] ≠ −100); differentiable
 * @param completionTokens [2B] how many tokens {@code logpSum} sums over; every one must be ≥ 1
 * @param nllSum           [B] −Σ log p(target) over the NLL tokens of each chosen row; differentiable
 * @param nllTokens        [B] how many tokens {@code nllSum} sums over
 * @param logitsSum        [2B] Σ of every value of logits[i, :-1, :] (pads included, as TRL; shared-prompt pairs:
 *                         the row's real predicting positions); metrics only
 * @param logitsValues     [2B] the number of values each {@code logitsSum} entry adds up ((T − 1) · V each in the
 *                         two-row layout)
 */
public record RowStats(
        NDArray logpSum,
        long[] completionTokens,
        NDArray nllSum,
        long[] nllTokens,
        NDArray logitsSum,
        long[] logitsValues)
        implements AutoCloseable {

    /** The two-row layout's stats: every row's logits sum adds up {@code logitsPerRow} = (T − 1) · V values. */
    public RowStats(NDArray logpSum, long[] completionTokens, NDArray nllSum, long[] nllTokens, NDArray logitsSum,
            long logitsPerRow) {
        this(logpSum, completionTokens, nllSum, nllTokens, logitsSum, filled(completionTokens.length, logitsPerRow));
    }

    private static long[] filled(int rows, long value) {
        long[] out = new long[rows];
        java.util.Arrays.fill(out, value);
        return out;
    }

    /** Checks the sizes agree and that no row would average over zero tokens (0/0 = NaN). */
    public RowStats {
        Objects.requireNonNull(logpSum, "logpSum");
        Objects.requireNonNull(nllSum, "nllSum");
        Objects.requireNonNull(logitsSum, "logitsSum");
        completionTokens = completionTokens.clone();
        nllTokens = nllTokens.clone();
        int rows = completionTokens.length;
        if (rows == 0 || rows % 2 != 0) {
            throw new IllegalArgumentException(
                    "RowStats needs 2B rows (B chosen then B rejected), got " + rows + " completion counts");
        }
        int pairs = rows / 2;
        requireShape("logpSum", logpSum, rows);
        requireShape("logitsSum", logitsSum, rows);
        requireShape("nllSum", nllSum, pairs);
        if (nllTokens.length != pairs) {
            throw new IllegalArgumentException(
                    "nllTokens has " + nllTokens.length + " entries, expected one per chosen row (" + pairs + ")");
        }
        logitsValues = logitsValues.clone();
        if (logitsValues.length != rows) {
            throw new IllegalArgumentException("logitsValues has " + logitsValues.length + " entries, expected "
                    + rows);
        }
        for (long v : logitsValues) {
            if (v <= 0) {
                throw new IllegalArgumentException("logitsPerRow must be positive, got " + v);
            }
        }
        requireCompletions(completionTokens);
        for (int i = 0; i < pairs; i++) {
            if (nllTokens[i] <= 0) {
                throw new IllegalArgumentException(describeRow(i, pairs) + " has no NLL tokens");
            }
        }
    }

    /** The values the chosen rows' ({@code chosen}) or rejected rows' logits sums add up together. */
    public long logitsValues(boolean chosen) {
        long total = 0;
        int pairs = pairs();
        for (int i = 0; i < pairs; i++) {
            total += logitsValues[chosen ? i : pairs + i];
        }
        return total;
    }

    /** B, the number of chosen/rejected pairs. */
    public int pairs() {
        return completionTokens.length / 2;
    }

    /** Fails, naming the first row (and whether it is chosen or rejected) whose completion has no tokens. */
    static void requireCompletions(long[] completionTokens) {
        int pairs = completionTokens.length / 2;
        for (int i = 0; i < completionTokens.length; i++) {
            if (completionTokens[i] <= 0) {
                throw new IllegalArgumentException(describeRow(i, pairs)
                        + " has no completion tokens: every label after position 0 is -100, so its average"
                        + " log-prob would be 0/0");
            }
        }
    }

    /** "row 3 (rejected, pair 0)": how errors name a row of the concatenated batch. */
    static String describeRow(int row, int pairs) {
        boolean chosen = row < pairs;
        return "row " + row + " (" + (chosen ? "chosen" : "rejected") + ", pair " + (chosen ? row : row - pairs) + ")";
    }

    private static void requireShape(String name, NDArray array, int length) {
        if (!array.getShape().equals(new Shape(length))) {
            throw new IllegalArgumentException(
                    name + " has shape " + array.getShape() + ", expected (" + length + ")");
        }
    }

    /** Releases the three arrays; safe once the loss built from them has been computed (autograd keeps its own refs). */
    @Override
    public void close() {
        logpSum.close();
        nllSum.close();
        logitsSum.close();
    }
}
