package org.orpo4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Optional;
import org.orpo4j.train.CheckpointManager;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;

/**
 * One line on stderr when a training run is interrupted (Ctrl-C, SIGTERM): the step reached and the checkpoint a
 * {@code --resume} would continue from, or that there is none yet. A JVM shutdown hook, removed when the run ends.
 */
final class InterruptReport implements TrainerListener {

    private final Path output;
    private final String checkpointRule;
    private final PrintStream err;
    private final Thread hook = new Thread(this::report, "orpo4j-interrupt-report");
    private volatile long step = -1; // -1 until training begins
    private volatile long maxSteps;
    private volatile boolean finished;

    InterruptReport(Path output, String saveStrategy, int saveSteps, PrintStream err) {
        this.output = output;
        this.checkpointRule = switch (saveStrategy) {
            case "steps" -> "one every " + saveSteps + " steps, --save-every";
            case "epoch" -> "one per epoch";
            default -> "checkpoints are off";
        };
        this.err = err;
    }

    void install() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** The run ended on its own (or failed with its own message): nothing to report. */
    void uninstall() {
        finished = true;
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or ran: finished keeps it quiet
        }
    }

    @Override
    public void onTrainBegin(TrainerState state, TrainerControl control) {
        maxSteps = state.maxSteps();
        step = state.globalStep();
    }

    @Override
    public void onStep(TrainerState state, TrainerControl control) {
        step = state.globalStep();
    }

    private void report() {
        if (!finished) {
            err.println(line());
            err.flush();
        }
    }

    /** The message for the run's state now. */
    String line() {
        if (step < 0) {
            return "orpo4j train: interrupted before training began; nothing was trained";
        }
        Optional<Path> checkpoint;
        try {
            checkpoint = CheckpointManager.latest(output);
        } catch (IOException e) {
            checkpoint = Optional.empty();
        }
        String at = "orpo4j train: interrupted at step " + step + " of " + maxSteps;
        return checkpoint.map(c -> at + "; the last checkpoint is " + c + " (step " + CheckpointManager.stepOf(c)
                + "): run the same command with --resume to continue from it")
                .orElse(at + " before the first checkpoint (" + checkpointRule + "): nothing to resume from");
    }
}
