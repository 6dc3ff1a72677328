package org.orpo4j.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Averages the per-step metrics between two log lines, as HF averages {@code loss} and TRL its stored metrics over
 * the logging interval. Skipped (non-finite) steps are left out of the averages.
 */
final class LogWindow {

    private final Map<String, Double> sums = new LinkedHashMap<>();
    private int steps;

    void add(Map<String, Double> stepMetrics) {
        stepMetrics.forEach((k, v) -> sums.merge(k, v, Double::sum));
        steps++;
    }

    boolean isEmpty() {
        return steps == 0;
    }

    /** The means since the last {@link #reset()}. */
    Map<String, Double> means() {
        Map<String, Double> out = new LinkedHashMap<>();
        sums.forEach((k, v) -> out.put(k, v / steps));
        return out;
    }

    void reset() {
        sums.clear();
        steps = 0;
    }
}
