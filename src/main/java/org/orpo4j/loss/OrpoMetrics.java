package org.orpo4j.loss;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ORPO metrics of one micro-batch (or a mean of several), as plain doubles named as TRL logs them.
 *
 * @param loss              nll_loss − alpha·beta·log_odds_ratio
 * @param nllLoss           cross-entropy over the chosen rows' NLL tokens (prompt included by default)
 * @param logOddsRatio      mean of log σ(log_odds), the odds-ratio term before scaling
 * @param logOddsChosen     mean of log_odds = log(odds(chosen) / odds(rejected))
 * @param rewardsChosen     mean of beta·logps(chosen)
 * @param rewardsRejected   mean of beta·logps(rejected)
 * @param rewardsAccuracies fraction of pairs whose chosen reward beats the rejected one
 * @param rewardsMargins    mean of the reward differences
 * @param logpsChosen       mean average completion log-prob of the chosen rows
 * @param logpsRejected     the same for the rejected rows
 * @param logitsChosen      mean of every value of logits[:B, :-1, :]
 * @param logitsRejected    mean of every value of logits[B:, :-1, :]
 */
public record OrpoMetrics(
        double loss,
        double nllLoss,
        double logOddsRatio,
        double logOddsChosen,
        double rewardsChosen,
        double rewardsRejected,
        double rewardsAccuracies,
        double rewardsMargins,
        double logpsChosen,
        double logpsRejected,
        double logitsChosen,
        double logitsRejected) {

    /** TRL's names, in the order of the record's components. */
    public static final List<String> NAMES = List.of(
            "loss",
            "nll_loss",
            "log_odds_ratio",
            "log_odds_chosen",
            "rewards/chosen",
            "rewards/rejected",
            "rewards/accuracies",
            "rewards/margins",
            "logps/chosen",
            "logps/rejected",
            "logits/chosen",
            "logits/rejected");

    /** The metrics under TRL's names, each prefixed ("" for training, "eval_" for evaluation), in TRL's order. */
    public Map<String, Double> toMap(String prefix) {
        double[] values = values();
        Map<String, Double> map = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            map.put(prefix + NAMES.get(i), values[i]);
        }
        return Collections.unmodifiableMap(map);
    }

    /** The component-wise mean, as TRL reports a step made of several gradient-accumulation micro-batches. */
    public static OrpoMetrics mean(List<OrpoMetrics> metrics) {
        if (metrics.isEmpty()) {
            throw new IllegalArgumentException("cannot average an empty list of OrpoMetrics");
        }
        double[] sum = new double[NAMES.size()];
        for (OrpoMetrics m : metrics) {
            double[] values = m.values();
            for (int i = 0; i < sum.length; i++) {
                sum[i] += values[i];
            }
        }
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= metrics.size();
        }
        return of(sum);
    }

    /** The components in {@link #NAMES} order. */
    double[] values() {
        return new double[] {
            loss, nllLoss, logOddsRatio, logOddsChosen, rewardsChosen, rewardsRejected, rewardsAccuracies,
            rewardsMargins, logpsChosen, logpsRejected, logitsChosen, logitsRejected
        };
    }

    /** Inverse of {@link #values()}. */
    static OrpoMetrics of(double[] v) {
        return new OrpoMetrics(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]);
    }
}
