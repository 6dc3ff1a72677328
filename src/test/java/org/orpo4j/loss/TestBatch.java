package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** A concatenated ORPO batch held in plain Java arrays, so tests can build, edit and check it independently. */
final class TestBatch {

    final double[][][] logits; // [2B][T][V]
    final long[][] inputIds; // [2B][T]
    final long[][] attentionMask; // [2B][T]
    final long[][] labels; // [2B][T]

    TestBatch(double[][][] logits, long[][] inputIds, long[][] attentionMask, long[][] labels) {
        this.logits = logits;
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.labels = labels;
    }

    int rows() {
        return logits.length;
    }

    int length() {
        return logits[0].length;
    }

    int vocab() {
        return logits[0][0].length;
    }

    /**
     * B = 2, T = 6, V = 5, pad id 0: prompts of 1-2 tokens, completions of 1-5 tokens, right padding. The target
     * logits of row 0 (chosen) and row 3 (rejected) are raised so their average log-probs lie above −ln 2 and
     * the other rows' below: both branches of log1mexp are exercised.
     */
    static TestBatch handBuilt() {
        long[][] ids = {
            {1, 2, 3, 4, 0, 0},
            {2, 1, 4, 4, 3, 1},
            {1, 2, 4, 1, 3, 0},
            {2, 3, 0, 0, 0, 0},
        };
        long[][] mask = {
            {1, 1, 1, 1, 0, 0},
            {1, 1, 1, 1, 1, 1},
            {1, 1, 1, 1, 1, 0},
            {1, 1, 0, 0, 0, 0},
        };
        long[][] labels = {
            {-100, -100, 3, 4, -100, -100},
            {-100, 1, 4, 4, 3, 1},
            {-100, -100, 4, 1, 3, -100},
            {-100, 3, -100, -100, -100, -100},
        };
        double[][][] logits = new double[4][6][5];
        for (int i = 0; i < 4; i++) {
            for (int t = 0; t < 6; t++) {
                for (int v = 0; v < 5; v++) {
                    logits[i][t][v] = (float) (1.5 * Math.sin(1.0 + 7 * i + 3 * t + 1.3 * v));
                }
            }
        }
        raiseTargets(logits, labels, 0, 4.0);
        raiseTargets(logits, labels, 3, 3.0);
        return new TestBatch(logits, ids, mask, labels);
    }

    /** Adds {@code by} to the logit of each completion target of {@code row} (at the position predicting it). */
    static void raiseTargets(double[][][] logits, long[][] labels, int row, double by) {
        for (int t = 1; t < labels[row].length; t++) {
            if (labels[row][t] != OrpoLoss.IGNORE_INDEX) {
                logits[row][t - 1][(int) labels[row][t]] = (float) (logits[row][t - 1][(int) labels[row][t]] + by);
            }
        }
    }

    /** This batch with {@code extra} padding positions appended (pad id, mask 0, label −100, given logits). */
    TestBatch padded(int extra, long padId, double padLogit) {
        int t = length();
        double[][][] l = new double[rows()][t + extra][vocab()];
        long[][] ids = new long[rows()][t + extra];
        long[][] mask = new long[rows()][t + extra];
        long[][] lab = new long[rows()][t + extra];
        for (int i = 0; i < rows(); i++) {
            for (int p = 0; p < t + extra; p++) {
                for (int v = 0; v < vocab(); v++) {
                    l[i][p][v] = p < t ? logits[i][p][v] : padLogit + 0.25 * v;
                }
                ids[i][p] = p < t ? inputIds[i][p] : padId;
                mask[i][p] = p < t ? attentionMask[i][p] : 0;
                lab[i][p] = p < t ? labels[i][p] : OrpoLoss.IGNORE_INDEX;
            }
        }
        return new TestBatch(l, ids, mask, lab);
    }

    TestBatch copy() {
        double[][][] l = new double[rows()][length()][];
        for (int i = 0; i < rows(); i++) {
            for (int p = 0; p < length(); p++) {
                l[i][p] = logits[i][p].clone();
            }
        }
        return new TestBatch(l, deepCopy(inputIds), deepCopy(attentionMask), deepCopy(labels));
    }

    NDArray logits(NDManager manager, DataType type) {
        double[] flat = new double[rows() * length() * vocab()];
        int k = 0;
        for (double[][] row : logits) {
            for (double[] position : row) {
                for (double value : position) {
                    flat[k++] = value;
                }
            }
        }
        Shape shape = new Shape(rows(), length(), vocab());
        if (type == DataType.FLOAT64) {
            return manager.create(flat, shape);
        }
        float[] floats = new float[flat.length];
        for (int i = 0; i < flat.length; i++) {
            floats[i] = (float) flat[i];
        }
        return manager.create(floats, shape);
    }

    NDArray inputIds(NDManager manager) {
        return tokens(manager, inputIds);
    }

    NDArray attentionMask(NDManager manager) {
        return tokens(manager, attentionMask);
    }

    NDArray labels(NDManager manager) {
        return tokens(manager, labels);
    }

    private static NDArray tokens(NDManager manager, long[][] values) {
        long[] flat = new long[values.length * values[0].length];
        for (int i = 0; i < values.length; i++) {
            System.arraycopy(values[i], 0, flat, i * values[0].length, values[0].length);
        }
        return manager.create(flat, new Shape(values.length, values[0].length));
    }

    private static long[][] deepCopy(long[][] values) {
        long[][] out = new long[values.length][];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i].clone();
        }
        return out;
    }
}
