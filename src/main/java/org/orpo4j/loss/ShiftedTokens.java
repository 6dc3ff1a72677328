package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.runtime.Casts;

/**
 * The token side of the chunked loss, prepared once for both passes: the N predicting positions, chunks being
 * contiguous runs of them, with their targets (out-of-range ids replaced by 0, then masked) and the {@link RowMaps}
 * onto the loss's rows. Two-row layout: position t of each row predicts token t+1, N = 2B·(T−1) flattened
 * row-major ({@code n = row·(T−1) + t}). Shared-prompt pairs: the layout's predicting positions, in order.
 */
final class ShiftedTokens {

    final int rows; // 2B
    final long count; // N predicting positions
    final NDArray labels; // [N] int64 completion target, 0 where masked
    final NDArray labels2; // [N] int64 a second completion target (shared-prompt pairs), or null
    final NDArray nllTargets; // [N] int64 the NLL target: the input id (promptLoss) or the label
    final RowMaps maps; // positions -> rows
    final long[] completionTokens; // [2B]
    final long[] nllTokens; // [B]
    final long[] logitsValues; // [2B] values each row's logits sum adds up

    private ShiftedTokens(int rows, long count, NDArray labels, NDArray labels2, NDArray nllTargets, RowMaps maps,
            long[] completionTokens, long[] nllTokens, long[] logitsValues) {
        this.rows = rows;
        this.count = count;
        this.labels = labels;
        this.labels2 = labels2;
        this.nllTargets = nllTargets;
        this.maps = maps;
        this.completionTokens = completionTokens;
        this.nllTokens = nllTokens;
        this.logitsValues = logitsValues;
    }

    /**
     * The predicting positions of shared-prompt pairs, on {@code device} ({@code manager}'s): one entry per
     * {@link SharedPromptLayout.Predictions} position, unused targets 0 (their rows' maps hold 0 there).
     */
    static ShiftedTokens packed(SharedPromptLayout.Predictions p, long vocab, NDManager manager, DataType type) {
        int pairs = p.pairs();
        int rows = 2 * pairs;
        int n = p.count();
        long[] completionTokens = new long[rows];
        long[] nllTokens = new long[pairs];
        long[] logitsValues = new long[rows];
        for (int k = 0; k < n; k++) {
            for (long token : new long[] {p.label()[k], p.label2()[k], p.nllTarget()[k]}) {
                if (token >= vocab) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + vocab);
                }
            }
            if (p.labelRow()[k] >= 0) {
                completionTokens[p.labelRow()[k]]++;
            }
            if (p.label2Row()[k] >= 0) {
                completionTokens[p.label2Row()[k]]++;
            }
            if (p.nllRow()[k] >= 0) {
                nllTokens[p.nllRow()[k]]++;
            }
            for (int row : p.logitsRows()[k]) {
                logitsValues[row] += vocab;
            }
        }
        RowStats.requireCompletions(completionTokens);
        return new ShiftedTokens(rows, n, ids(manager, p.label()), ids(manager, p.label2()),
                ids(manager, p.nllTarget()), new PackedRowMaps(p, pairs, manager, type), completionTokens, nllTokens,
                logitsValues);
    }

    /** [N] int64 on the manager's device, -1 (no target) as 0. */
    private static NDArray ids(NDManager manager, long[] tokens) {
        long[] safe = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            safe[i] = Math.max(0, tokens[i]);
        }
        try (NDArray host = manager.create(safe)) {
            return host.duplicate();
        }
    }

    /**
     * Checks the shapes of hidden [2B, T, H], head weight [V, H] and the three [2B, T] integer arrays, the token
     * ids against the vocabulary, and that every row has completion tokens. Call it inside the caller's
     * {@link ai.djl.ndarray.NDScope}: the arrays live on the hidden states' device until that scope closes.
     */
    static ShiftedTokens of(NDArray hidden, NDArray weight, NDArray inputIds, NDArray attentionMask,
            NDArray labels, boolean promptLoss) {
        Shape shape = checkShapes(hidden, weight, inputIds, attentionMask, labels);
        int rows = (int) shape.get(0);
        int pairs = rows / 2;
        long positions = shape.get(1) - 1;
        long vocab = weight.getShape().get(0);
        DataType type = Casts.wide(hidden.getDataType()); // the masks meet float32 log-probs
        NDIndex next = new NDIndex(":, 1:");
        NDArray ids = InputChecks.tokens(inputIds, hidden.getDevice()).get(next); // [2B, T-1]
        NDArray real = attentionMask.toDevice(hidden.getDevice(), false).get(next).neq(0); // [2B, T-1]
        NDArray lab = InputChecks.tokens(labels, hidden.getDevice()).get(next); // [2B, T-1]
        NDArray isCompletion = lab.neq(OrpoLoss.IGNORE_INDEX); // [2B, T-1]
        NDArray safeLabels = NDArrays.where(isCompletion, lab, lab.zerosLike());
        NDArray safeIds = NDArrays.where(real, ids, ids.zerosLike());
        NDIndex chosen = new NDIndex().addSliceDim(0, pairs);
        NDArray nllMaskBool = (promptLoss ? real : isCompletion).get(chosen); // [B, T-1]

        InputChecks.TokenCounts counts =
                InputChecks.countAndCheck(isCompletion, nllMaskBool, safeLabels, safeIds, vocab);
        long[] completionTokens = counts.completion();
        long[] nllTokens = counts.nll();
        for (int i = 0; i < pairs; i++) {
            if (nllTokens[i] <= 0) {
                throw new IllegalArgumentException(RowStats.describeRow(i, pairs) + " has no NLL tokens");
            }
        }
        NDArray nllTargets = promptLoss ? safeIds : safeLabels;
        long[] logitsValues = new long[rows];
        java.util.Arrays.fill(logitsValues, positions * vocab);
        RowMaps maps = new PaddedRowMaps(rows, positions, isCompletion.toType(type, false),
                nllMaskBool.toType(type, false));
        return new ShiftedTokens(rows, rows * positions, safeLabels.reshape(-1), null, nllTargets.reshape(-1), maps,
                completionTokens, nllTokens, logitsValues);
    }

    int pairs() {
        return rows / 2;
    }

    private static Shape checkShapes(NDArray hidden, NDArray weight, NDArray inputIds, NDArray attentionMask,
            NDArray labels) {
        Objects.requireNonNull(hidden, "hidden");
        Objects.requireNonNull(weight, "lmHeadWeight");
        DataType type = hidden.getDataType();
        if (type != DataType.FLOAT32 && type != DataType.FLOAT64 && !Casts.isHalf(type)) {
            throw new IllegalArgumentException("hidden states must be FLOAT32, FLOAT64, FLOAT16 or BFLOAT16, got "
                    + type);
        }
        if (weight.getDataType() != type) {
            throw new IllegalArgumentException("lmHeadWeight is " + weight.getDataType() + " but hidden states are "
                    + type + "; both must have one float dtype");
        }
        Shape shape = hidden.getShape();
        if (shape.dimension() != 3) {
            throw new IllegalArgumentException("hidden states must be [2B, T, H], got shape " + shape);
        }
        long rows = shape.get(0);
        if (rows == 0 || rows % 2 != 0) {
            throw new IllegalArgumentException("hidden states have " + rows
                    + " rows; ORPO needs an even number 2B > 0 (B chosen rows, then B rejected rows)");
        }
        if (shape.get(1) < 2) {
            throw new IllegalArgumentException(
                    "hidden states have sequence length " + shape.get(1) + "; the shifted loss needs T >= 2");
        }
        Shape w = weight.getShape();
        if (w.dimension() != 2 || w.get(1) != shape.get(2) || w.get(0) < 1) {
            throw new IllegalArgumentException("lmHeadWeight has shape " + w + "; expected [V, " + shape.get(2)
                    + "] to match hidden states " + shape);
        }
        Shape expected = new Shape(rows, shape.get(1));
        requireTokens("inputIds", inputIds, expected, false);
        requireTokens("attentionMask", attentionMask, expected, true);
        requireTokens("labels", labels, expected, false);
        return shape;
    }

    private static void requireTokens(String name, NDArray array, Shape expected, boolean maskOk) {
        Objects.requireNonNull(array, name);
        if (!array.getShape().equals(expected)) {
            throw new IllegalArgumentException(
                    name + " has shape " + array.getShape() + "; expected " + expected + " to match the hidden states");
        }
        DataType type = array.getDataType();
        if (!type.isInteger() && !(maskOk && type.isBoolean())) {
            throw new IllegalArgumentException(name + " must hold integers, got " + type);
        }
    }
}
