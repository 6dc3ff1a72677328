package org.orpo4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.train.CheckpointManager;
import org.orpo4j.train.OrpoTrainer;
import org.orpo4j.train.TrainerControl;
import org.orpo4j.train.TrainerListener;
import org.orpo4j.train.TrainerState;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM (a preemptible machine's notice) and SIGINT (Ctrl-C) during {@code train}: the first asks the trainer to
 * finish the optimizer step in flight and write a checkpoint, after which the command exits with 143 or 130 and says
 * how to resume; a second signal, or one before training has begun, ends the process at once by the signal's default
 * action ({@link SignalExit}; checkpoints are committed by rename, so none is ever half written). JVM shutdown hooks
 * cannot do this: a second signal during them is ignored.
 */
final class Preemption implements TrainerListener, AutoCloseable {

    private static final String[] SIGNALS = {"TERM", "INT"};

    private final Path output;
    private final PrintStream err;
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    private volatile OrpoTrainer trainer;
    private volatile long step = -1; // -1 until training begins
    private volatile long maxSteps;
    private volatile Signal received;

    Preemption(Path output, PrintStream err) {
        this.output = output;
        this.err = err;
    }

    /** Takes over SIGTERM and SIGINT until {@link #close()}. */
    Preemption install() {
        for (String name : SIGNALS) {
            Signal signal = new Signal(name);
            previous.put(signal, Signal.handle(signal, this::handle));
        }
        return this;
    }

    /** The trainer a first signal stops. */
    void watch(OrpoTrainer trainer) {
        this.trainer = trainer;
    }

    private void handle(Signal signal) {
        OrpoTrainer t = trainer;
        if (received != null || t == null || step < 0) {
            err.println("orpo4j train: SIG" + signal.getName() + (received != null ? " again: stopping at once"
                    : " before training began: nothing was trained") + "; " + resumeHint());
            err.flush();
            SignalExit.now(signal);
        }
        received = signal;
        err.println("orpo4j train: SIG" + signal.getName() + " received: finishing step " + (step + 1)
                + " and writing a checkpoint (send it again to stop at once)");
        err.flush();
        t.requestStop("SIG" + signal.getName());
    }

    /** 0 when no signal stopped the run, else the exit code a process killed by it reports (143, 130). */
    int exitCode() {
        return received == null ? 0 : 128 + received.getNumber();
    }

    /** The line that closes a stopped run: where it stopped and how to resume. */
    String stoppedLine(long globalStep) {
        return "orpo4j train: stopped by SIG" + received.getName() + " at step " + globalStep + " of " + maxSteps
                + "; " + resumeHint();
    }

    private String resumeHint() {
        Optional<Path> checkpoint;
        try {
            checkpoint = CheckpointManager.latest(output);
        } catch (IOException e) {
            checkpoint = Optional.empty();
        }
        return checkpoint.map(c -> "the last checkpoint is " + c + " (step " + CheckpointManager.stepOf(c)
                + "): run the same command with --resume to continue from it")
                .orElse("there is no checkpoint to resume from");
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

    /** Gives the signals back to their previous handlers. */
    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
