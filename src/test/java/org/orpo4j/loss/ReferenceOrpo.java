package org.orpo4j.loss;

/**
 * The ORPO loss and metrics computed from plain Java arrays in double precision with java.lang.Math's log1p and
 * expm1, written from the formulas in docs/math.md without sharing any code with the DJL implementation.
 */
final class ReferenceOrpo {

    private ReferenceOrpo() {}

    /** Average completion log-prob per row: mean over t ≥ 1 with labels[i][t] ≠ −100 of log softmax(logits[i][t−1])[label]. */
    static double[] averageLogps(TestBatch b) {
        double[] logps = new double[b.rows()];
        for (int i = 0; i < b.rows(); i++) {
            double sum = 0;
            int count = 0;
            for (int t = 1; t < b.length(); t++) {
                if (b.labels[i][t] != -100) {
                    sum += logSoftmax(b.logits[i][t - 1], (int) b.labels[i][t]);
                    count++;
                }
            }
            logps[i] = sum / count;
        }
        return logps;
    }

    /** Mean −log p over the chosen rows' targets: non-pad input ids (promptLoss) or completion labels. */
    static double nll(TestBatch b, boolean promptLoss) {
        int pairs = b.rows() / 2;
        double sum = 0;
        int count = 0;
        for (int i = 0; i < pairs; i++) {
            for (int t = 1; t < b.length(); t++) {
                boolean target = promptLoss ? b.attentionMask[i][t] == 1 : b.labels[i][t] != -100;
                if (target) {
                    long token = promptLoss ? b.inputIds[i][t] : b.labels[i][t];
                    sum -= logSoftmax(b.logits[i][t - 1], (int) token);
                    count++;
                }
            }
        }
        return sum / count;
    }

    static OrpoMetrics metrics(TestBatch b, double alpha, double beta, boolean promptLoss) {
        int pairs = b.rows() / 2;
        double[] logps = averageLogps(b);
        double nll = nll(b, promptLoss);
        double ratio = 0, logOdds = 0, rc = 0, rr = 0, acc = 0, margin = 0, lc = 0, lr = 0;
        for (int k = 0; k < pairs; k++) {
            double c = logps[k];
            double r = logps[pairs + k];
            double odds = (c - r) - (log1mexp(c) - log1mexp(r));
            logOdds += odds / pairs;
            ratio += logSigmoid(odds) / pairs;
            rc += beta * c / pairs;
            rr += beta * r / pairs;
            acc += (beta * c > beta * r ? 1.0 : 0.0) / pairs;
            margin += (beta * c - beta * r) / pairs;
            lc += c / pairs;
            lr += r / pairs;
        }
        return new OrpoMetrics(nll - alpha * beta * ratio, nll, ratio, logOdds, rc, rr, acc, margin, lc, lr,
                meanLogits(b, 0, pairs), meanLogits(b, pairs, b.rows()));
    }

    static double log1mexp(double x) {
        return x > -Math.log(2) ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
    }

    static double logSigmoid(double z) {
        return z < 0 ? z - Math.log1p(Math.exp(z)) : -Math.log1p(Math.exp(-z));
    }

    static double logSoftmax(double[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (double v : logits) {
            sum += Math.exp(v - max);
        }
        return logits[target] - max - Math.log(sum);
    }

    /** Mean of every value of logits[from:to, :-1, :], padding included. */
    private static double meanLogits(TestBatch b, int from, int to) {
        double sum = 0;
        long count = 0;
        for (int i = from; i < to; i++) {
            for (int t = 0; t < b.length() - 1; t++) {
                for (double v : b.logits[i][t]) {
                    sum += v;
                    count++;
                }
            }
        }
        return sum / count;
    }
}
