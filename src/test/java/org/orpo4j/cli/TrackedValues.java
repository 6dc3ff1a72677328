package org.orpo4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.orpo4j.train.MetricsWriter;

/**
 * What a tracker must show for a run, read from its metrics.jsonl: every number of every line by its metrics.jsonl
 * name at the line's step ({@code step} itself left out), an evaluation line's epoch only when no training line gave
 * that step's epoch. A name holding two values at one step fails here.
 */
final class TrackedValues {

    private TrackedValues() {}

    /** name -> step -> value, steps ascending. */
    static Map<String, TreeMap<Long, Double>> of(Path metricsJsonl) throws IOException {
        Map<String, TreeMap<Long, Double>> values = new TreeMap<>();
        for (Map<String, Object> line : MetricsWriter.read(metricsJsonl)) {
            long step = ((Number) line.get("step")).longValue();
            boolean eval = line.keySet().stream().anyMatch(k -> k.startsWith("eval_"));
            line.forEach((key, v) -> {
                if (key.equals("step") || !(v instanceof Number n)) {
                    return;
                }
                TreeMap<Long, Double> steps = values.computeIfAbsent(key, k -> new TreeMap<>());
                if (eval && key.equals("epoch") && steps.containsKey(step)) {
                    assertEquals(steps.get(step), n.doubleValue(), "epoch of step " + step);
                    return;
                }
                assertNull(steps.put(step, n.doubleValue()), key + " twice at step " + step);
            });
        }
        return values;
    }

    /** The samples.jsonl lines of {@code step}, in order. */
    static List<Map<String, Object>> samples(Path samplesJsonl, long step) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> line : MetricsWriter.read(samplesJsonl)) {
            if (((Number) line.get("step")).longValue() == step) {
                out.add(line);
            }
        }
        return out;
    }
}
