package org.orpo4j.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Averages the per-step metrics between two log lines, as HF averages {@code loss} and TRL its stored metrics over
 * the logging interval; {@code learning_rate} and {@code grad_norm} are the last step's, as HF logs them. Skipped
 * (non-finite) steps are left out.
 */
final class LogWindow {

    private static final java.util.Set<String> LAST_VALUE = java.util.Set.of("learning_rate", "grad_norm");

    private final Map<String, Double> sums = new LinkedHashMap<>();
    private final Map<String, Double> last = new LinkedHashMap<>();
    private int steps;

    void add(Map<String, Double> stepMetrics) {
        stepMetrics.forEach((k, v) -> {
            if (LAST_VALUE.contains(k)) {
                last.put(k, v);
            } else {
                sums.merge(k, v, Double::sum);
            }
        });
        steps++;
    }

    boolean isEmpty() {
        return steps == 0;
    }

    /** The last step's learning_rate and grad_norm, then the means since the last {@link #reset()}. */
    Map<String, Double> means() {
        Map<String, Double> out = new LinkedHashMap<>(last);
        sums.forEach((k, v) -> out.put(k, v / steps));
        return out;
    }

    void reset() {
        sums.clear();
        last.clear();
        steps = 0;
    }
}
