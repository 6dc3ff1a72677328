package org.orpo4j.train;

import java.nio.file.Path;
import java.util.Map;

/**
 * The outcome of {@link OrpoTrainer#train}.
 *
 * @param globalStep   optimizer steps done (including skipped non-finite ones)
 * @param lastLog      the last line written to metrics.jsonl for training (empty if none)
 * @param evalMetrics  the final {@code eval_} metrics (empty without eval data)
 * @param modelDir     where the final HF model folder was written
 * @param stopReason   why a listener stopped the run early, or null
 */
public record TrainResult(long globalStep, Map<String, Double> lastLog, Map<String, Double> evalMetrics,
        Path modelDir, String stopReason) {}
