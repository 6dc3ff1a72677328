package org.orpo4j.train;

import java.nio.file.Path;
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

    /** When a line goes to metrics.jsonl: {@code step}, {@code epoch}, {@code learning_rate}, {@code grad_norm} and
     *  the TRL metric names, averaged over the steps since the previous log. */
    default void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {}

    /** After an evaluation, with the {@code eval_} metrics. */
    default void onEvaluate(TrainerState state, Map<String, Double> metrics, TrainerControl control) {}

    /** After a checkpoint folder was completely written and renamed into place. */
    default void onSave(TrainerState state, Path checkpoint, TrainerControl control) {}
}
