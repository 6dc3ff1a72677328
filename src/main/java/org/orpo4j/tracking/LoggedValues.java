package org.orpo4j.tracking;

import java.util.LinkedHashMap;
import java.util.Map;
import org.orpo4j.train.TrainerState;

/**
 * The numbers a metrics.jsonl line hands a tracker, by their metrics.jsonl names, at the line's step: a training
 * log's values (its {@code step} is the step itself), an evaluation's {@code eval_} metrics and its {@code epoch}.
 * HF logs the epoch with both kinds of line; here it is given once per step, so a step logged and evaluated does not
 * carry two epoch values for one step.
 */
final class LoggedValues {

    private long epochStep = -1;

    /** A training log's values, {@code step} left out. */
    Map<String, Double> ofLog(TrainerState state, Map<String, Double> logs) {
        Map<String, Double> values = new LinkedHashMap<>(logs);
        values.remove("step");
        if (values.containsKey("epoch")) {
            epochStep = state.globalStep();
        }
        return values;
    }

    /** An evaluation's metrics, with the epoch unless this step's log gave it already. */
    Map<String, Double> ofEval(TrainerState state, Map<String, Double> metrics) {
        Map<String, Double> values = new LinkedHashMap<>();
        if (epochStep != state.globalStep()) {
            values.put("epoch", state.epoch());
            epochStep = state.globalStep();
        }
        values.putAll(metrics);
        return values;
    }
}
