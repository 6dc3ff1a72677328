package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import java.util.Arrays;
import org.orpo4j.layout.SharedPromptLayout;
import org.orpo4j.runtime.Owned;
import org.orpo4j.runtime.Scalars;

/**
 * The ORPO loss (Hong et al. 2024, arXiv 2403.07691) with TRL's ORPOTrainer semantics:
 * {@code loss = nll − alpha·beta·mean(log σ(log_odds))}, where log_odds compares the odds of the chosen and
 * rejected completions' average log-probs. See docs/math.md for the derivation.
 *
 * <p>Inputs are one concatenated batch of 2B rows, chosen rows first. Besides {@link #compute}, it is a DJL
 * {@link Loss}: {@code evaluate(labels = [inputIds, attentionMask, labels], predictions = [logits])}.
 */
public final class OrpoLoss extends Loss {

    /** The label value of positions that are not completion tokens (prompt and padding), as in HF/PyTorch. */
    public static final long IGNORE_INDEX = -100;

    private final double beta;
    private final double alpha;
    private final boolean promptLoss;

    private OrpoLoss(Builder builder) {
        super("orpo_loss");
        this.beta = builder.beta;
        this.alpha = builder.alpha;
        this.promptLoss = builder.promptLoss;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The weight of the odds-ratio term (the paper's λ; TRL's {@code beta}, the guide's {@code orpo_beta}). */
    public double beta() {
        return beta;
    }

    /** An extra multiplier on the odds-ratio term (the guide's {@code orpo_alpha}; 1 reproduces TRL). */
    public double alpha() {
        return alpha;
    }

    /** Whether the NLL covers the chosen rows' prompt tokens too (TRL) or only their completions (official repo). */
    public boolean promptLoss() {
        return promptLoss;
    }

    /** The loss and metrics of one micro-batch.
     *
     * @param logits        [2B, T, V] FLOAT32 (or FLOAT64), chosen rows then rejected rows
     * @param inputIds      [2B, T] token ids
     * @param attentionMask [2B, T] 1 on tokens, 0 on padding
     * @param labels        [2B, T] completion token ids, {@link #IGNORE_INDEX} on prompt and padding
     */
    public Output compute(NDArray logits, NDArray inputIds, NDArray attentionMask, NDArray labels) {
        try (RowStats stats = rowStats(logits, inputIds, attentionMask, labels)) {
            return fromRowStats(stats);
        }
    }

    /**
     * The loss and metrics of shared-prompt pairs from the logits at their predicting positions, as the two-row
     * layout gives them (its {@code logits/*} metrics averaged over the rows' real positions instead of TRL's
     * padded tensor).
     *
     * @param logits      [N, V] FLOAT32 (or FLOAT64) at {@code predictions.position()}, in that order
     * @param predictions the layout's {@link SharedPromptLayout#predictions}, made with this loss's promptLoss
     */
    public Output compute(NDArray logits, SharedPromptLayout.Predictions predictions) {
        try (RowStats stats = PackedLogitsRowStats.compute(logits, checked(predictions))) {
            return fromRowStats(stats);
        }
    }

    /** {@code predictions} when made with this loss's prompt-loss setting. */
    SharedPromptLayout.Predictions checked(SharedPromptLayout.Predictions predictions) {
        if (predictions.promptLoss() != promptLoss) {
            throw new IllegalArgumentException("the predictions were made with promptLoss " + predictions.promptLoss()
                    + " for a loss with promptLoss " + promptLoss);
        }
        return predictions;
    }

    /** Stage 1: the per-row differentiable sums of this batch (see {@link RowStats}). */
    public RowStats rowStats(NDArray logits, NDArray inputIds, NDArray attentionMask, NDArray labels) {
        return LogitsRowStats.compute(logits, inputIds, attentionMask, labels, promptLoss);
    }

    /**
     * Stage 2: the loss and metrics from per-row sums. The loss is attached to the manager of
     * {@code stats.nllSum()}; every intermediate is closed; the metrics come back in one device-to-host copy.
     */
    public Output fromRowStats(RowStats stats) {
        int pairs = stats.pairs();
        NDArray logpSum = stats.logpSum();
        DataType type = logpSum.getDataType();
        NDIndex chosenRows = new NDIndex().addSliceDim(0, pairs);
        NDIndex rejectedRows = new NDIndex().addSliceDim(pairs, 2L * pairs);
        try (NDScope scope = new NDScope()) {
            NDArray counts = constant(logpSum, Arrays.stream(stats.completionTokens()).asDoubleStream().toArray());
            NDArray logps = logpSum.div(counts); // [2B] average completion log-prob
            NDArray chosen = logps.get(chosenRows); // [B]
            NDArray rejected = logps.get(rejectedRows); // [B]
            // log(odds_c / odds_r), odds = p / (1 − p) with log p = the average log-prob
            NDArray logOdds = chosen.sub(rejected)
                    .sub(StableMath.log1mexp(chosen).sub(StableMath.log1mexp(rejected))); // [B]
            NDArray ratio = StableMath.logSigmoid(logOdds); // [B]
            // scale [B] arrays before reducing them: DJL sends a Java double as a float64 0-dim tensor, which
            // would promote a float32 0-dim result (and so the loss) to float64
            double nllTokens = Arrays.stream(stats.nllTokens()).sum();
            NDArray nll = stats.nllSum().div(Scalars.like(logpSum, nllTokens)).sum(); // []
            NDArray logOddsRatio = ratio.mean(); // []
            NDArray loss = nll.sub(ratio.mul(Scalars.like(ratio, alpha * beta)).mean()); // []

            NDArray rewardsChosen = chosen.mul(beta); // [B]
            NDArray rewardsRejected = rejected.mul(beta); // [B]
            double chosenValues = stats.logitsValues(true);
            double rejectedValues = stats.logitsValues(false);
            NDList summary = new NDList(
                    loss, nll, logOddsRatio, logOdds.mean(),
                    rewardsChosen.mean(), rewardsRejected.mean(),
                    rewardsChosen.gt(rewardsRejected).toType(type, false).mean(),
                    rewardsChosen.sub(rewardsRejected).mean(),
                    chosen.mean(), rejected.mean(),
                    stats.logitsSum().get(chosenRows).div(chosenValues).sum(),
                    stats.logitsSum().get(rejectedRows).div(rejectedValues).sum());
            NDList flat = new NDList();
            summary.forEach(value -> flat.add(value.reshape(1)));
            flat.add(logpSum);
            flat.add(stats.nllSum());
            flat.add(stats.logitsSum());
            double[] host = doubles(NDArrays.concat(flat).stopGradient()); // the one device-to-host copy
            int metricCount = OrpoMetrics.NAMES.size();
            requireFinite(host, metricCount, pairs);
            NDScope.unregister(loss);
            return new Output(loss, OrpoMetrics.of(Arrays.copyOf(host, metricCount)));
        }
    }

    /** The DJL {@link Loss} view: labels = [inputIds, attentionMask, labels], predictions = [logits, ...]. */
    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        if (labels.size() != 3 || predictions.isEmpty()) {
            throw new IllegalArgumentException("OrpoLoss.evaluate expects labels = [inputIds, attentionMask, labels]"
                    + " and predictions = [logits], got " + labels.size() + " labels and " + predictions.size()
                    + " predictions");
        }
        return compute(predictions.get(0), labels.get(0), labels.get(1), labels.get(2)).loss();
    }

    /** Names the first row whose sums are not finite: NaN or ±Inf in its logits (a diverged or broken model). */
    private static void requireFinite(double[] host, int metricCount, int pairs) {
        int rows = 2 * pairs;
        for (int i = 0; i < rows; i++) {
            double logitsSum = host[metricCount + rows + pairs + i];
            double logpSum = host[metricCount + i];
            double nllSum = i < pairs ? host[metricCount + rows + i] : 0;
            if (!Double.isFinite(logitsSum) || !Double.isFinite(logpSum) || !Double.isFinite(nllSum)) {
                throw new NonFiniteLogitsException("logits of " + RowStats.describeRow(i, pairs)
                        + " are not finite (NaN or Inf): sum of logits[" + i + ", :-1, :] = " + logitsSum
                        + ", completion log-prob sum = " + logpSum);
            }
        }
        for (int i = 0; i < metricCount; i++) {
            if (!Double.isFinite(host[i])) {
                throw new IllegalStateException(
                        "ORPO metric " + OrpoMetrics.NAMES.get(i) + " is not finite (" + host[i] + ")");
            }
        }
    }

    /**
     * A non-differentiable [n] array of {@code like}'s dtype, device and manager, copied into libtorch's memory: the
     * scope closes it before backward reads it (see {@link Scalars}).
     */
    private static NDArray constant(NDArray like, double[] values) {
        try (NDArray javaBacked = like.getManager().create(values)) {
            return Owned.copy(javaBacked, like.getDataType()).toDevice(like.getDevice(), false);
        }
    }

    private static double[] doubles(NDArray array) {
        if (array.getDataType() == DataType.FLOAT64) {
            return array.toDoubleArray();
        }
        float[] floats = array.toFloatArray();
        double[] out = new double[floats.length];
        for (int i = 0; i < floats.length; i++) {
            out[i] = floats[i];
        }
        return out;
    }

    /** The differentiable scalar loss (dtype of the logits) and the metrics copied to the host. */
    public record Output(NDArray loss, OrpoMetrics metrics) {}

    /** Options with TRL's defaults: beta 0.1, alpha 1.0, promptLoss true. */
    public static final class Builder {
        private double beta = 0.1;
        private double alpha = 1.0;
        private boolean promptLoss = true;

        private Builder() {}

        public Builder beta(double beta) {
            this.beta = beta;
            return this;
        }

        public Builder alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        public Builder promptLoss(boolean promptLoss) {
            this.promptLoss = promptLoss;
            return this;
        }

        public OrpoLoss build() {
            if (!Double.isFinite(beta) || beta < 0) {
                throw new IllegalArgumentException("beta must be finite and >= 0, got " + beta);
            }
            if (!Double.isFinite(alpha) || alpha < 0) {
                throw new IllegalArgumentException("alpha must be finite and >= 0, got " + alpha);
            }
            return new OrpoLoss(this);
        }
    }
}
