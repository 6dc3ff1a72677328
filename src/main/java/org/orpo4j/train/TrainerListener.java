package org.orpo4j.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Hooks into {@link OrpoTrainer} (log to a tracker, stop early, ...). Called on the training thread; every method
 * has an empty default. {@code state} is live: read it during the call, copy what you keep.
 */
public interface TrainerListener {

    /** Before the first step of this process (after the resume, when resuming). */
    default void onTrainBegin(TrainerState state, TrainerControl control) {}

    /** After each optimizer step (also a skipped non-finite one). */
    default void onStep(TrainerState state, TrainerControl control) {}

    /** When a line goes to metrics.jsonl: {@code step}, {@code epoch}, {@code learning_rate}, {@code grad_norm},
     *  the TRL metric names averaged over the steps since the previous log, and the token counts. */
    default void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {}

    /** After an evaluation, with the {@code eval_} metrics. */
    default void onEvaluate(TrainerState state, Map<String, Double> metrics, TrainerControl control) {}

    /** After a checkpoint folder was completely written and renamed into place. */
    default void onSave(TrainerState state, Path checkpoint, TrainerControl control) {}

    /** After an evaluation's samples were generated and written to samples.jsonl ({@code generateDuringEval}). */
    default void onSamples(TrainerState state, List<GeneratedSample> samples, TrainerControl control) {}

    /** When training ends in this process: after the final model was saved, or after a stop's checkpoint. */
    default void onTrainEnd(TrainerState state, TrainerControl control) {}
}
