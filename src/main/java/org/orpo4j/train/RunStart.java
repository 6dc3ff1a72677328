package org.orpo4j.train;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a run begins in its output folder: fresh (an earlier run there refused, or cleared with
 * {@code overwriteOutputDir}), or resumed from a checkpoint (its position checked against the data before the model
 * is touched, then weights, AdamW moments and metrics.jsonl restored), or already finished (nothing to do).
 */
final class RunStart {

    private static final Logger LOG = LoggerFactory.getLogger(RunStart.class);

    private final OrpoConfig config;
    private final Path out;
    private final Optional<Path> checkpoint;
    private final TrainerState saved; // null when fresh
    private final boolean finished;

    private RunStart(OrpoConfig config, Path out, Optional<Path> checkpoint, TrainerState saved, boolean finished) {
        this.config = config;
        this.out = out;
        this.checkpoint = checkpoint;
        this.saved = saved;
        this.finished = finished;
    }

    /**
     * Decides fresh or resumed, and moves {@code state} to the resumed position; a fresh run's folder is made
     * ready (refused when it holds a run, cleared with overwriteOutputDir).
     */
    static RunStart open(OrpoConfig config, Path out, TrainerState state, TrainedWeights weights) throws IOException {
        Optional<Path> resume = OutputDir.resumeFolder(out, config.resumeFromCheckpoint());
        if (resume.isEmpty()) {
            if (config.resumeFromCheckpoint() != null) {
                LOG.info("no checkpoint in {} to resume from; starting fresh", out);
            }
            OutputDir.prepareFresh(out, config.overwriteOutputDir());
            return new RunStart(config, out, resume, null, false);
        }
        TrainerState saved = TrainingCheckpoint.readState(resume.get());
        state.restoreFrom(saved); // checks the data fits before the model is touched
        boolean finished = state.globalStep() >= state.maxSteps() && weights.savedIn(out);
        if (finished) {
            LOG.info("the run in {} is already finished (step {} of {}); nothing to do", out, state.globalStep(),
                    state.maxSteps());
        }
        return new RunStart(config, out, resume, saved, finished);
    }

    /** The resumed run had ended and saved its final weights. */
    boolean finished() {
        return finished;
    }

    /** The checkpoint resumed from, if resumed. */
    Optional<Path> checkpoint() {
        return checkpoint;
    }

    /** The step resumed from, or -1 for a fresh run. */
    long resumedStep(TrainerState state) {
        return saved == null ? -1 : state.globalStep();
    }

    /** The step of the checkpoint resumed from when it is the output's own {@code checkpoint-<step>}, else -1. */
    long savedStep(CheckpointManager checkpoints, TrainerState state) {
        return checkpoint.map(c -> c.toAbsolutePath().normalize())
                .filter(c -> c.equals(checkpoints.folder(state.globalStep()).toAbsolutePath().normalize()))
                .isPresent() ? state.globalStep() : -1;
    }

    /**
     * Restores the checkpoint's weights and AdamW moments when resuming, and opens metrics.jsonl: continued
     * (lines past the checkpoint dropped) or new.
     */
    MetricsWriter restore(TrainedWeights weights, AdamW adamw, TrainerState state, NDManager scratch)
            throws IOException {
        Path file = out.resolve(MetricsWriter.FILE);
        if (saved == null) {
            return MetricsWriter.create(file);
        }
        warnOnChangedSettings(saved.config());
        TrainingCheckpoint.restore(checkpoint.get(), weights, adamw, saved.optimizerSteps(), scratch);
        LOG.info("resumed from {} at step {} (epoch {}, micro-batch {})", checkpoint.get(), state.globalStep(),
                state.epochIndex(), state.microBatchInEpoch());
        return MetricsWriter.resume(file, state.globalStep());
    }

    /** Resuming with different trajectory settings is allowed (e.g. more steps) but worth a warning. */
    private void warnOnChangedSettings(OrpoConfig before) {
        List<String> changed = new ArrayList<>();
        before.toJson().fields().forEachRemaining(e -> {
            if (!List.of("resumeFromCheckpoint", "outputDir", "overwriteOutputDir").contains(e.getKey())
                    && !e.getValue().equals(config.toJson().get(e.getKey()))) {
                changed.add(e.getKey() + " " + e.getValue() + " -> " + config.toJson().get(e.getKey()));
            }
        });
        if (!changed.isEmpty()) {
            LOG.warn("resuming with changed settings (the trajectory will differ from the original run): {}",
                    changed);
        }
    }
}
