package org.orpo4j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outcome of {@link OrpoTrainer#train}.
 *
 * @param globalStep      optimizer steps done (including skipped non-finite ones)
 * @param lastLog         the last line written to metrics.jsonl for training (empty if none)
 * @param evalMetrics     the final {@code eval_} metrics (empty without eval data)
 * @param modelDir        where the final HF model folder was written
 * @param stopReason      why a listener stopped the run early, or null
 * @param alreadyFinished the run resumed had already ended and saved its final weights: nothing was written
 */
public record TrainResult(long globalStep, Map<String, Double> lastLog, Map<String, Double> evalMetrics,
        Path modelDir, String stopReason, boolean alreadyFinished) {

    /** A resumed run that had ended: its last training and evaluation lines, from the checkpoint's history. */
    static TrainResult finished(TrainerState state, Path out) {
        return new TrainResult(state.globalStep(), last(state.logHistory(), false), last(state.logHistory(), true),
                out, null, true);
    }

    private static Map<String, Double> last(List<Map<String, Object>> history, boolean eval) {
        for (int i = history.size() - 1; i >= 0; i--) {
            Map<String, Object> line = history.get(i);
            if (line.keySet().stream().anyMatch(k -> k.startsWith("eval_")) == eval) {
                Map<String, Double> values = new LinkedHashMap<>();
                line.forEach((k, v) -> {
                    if (v instanceof Number n) {
                        values.put(k, n.doubleValue());
                    }
                });
                return values;
            }
        }
        return Map.of();
    }
}
