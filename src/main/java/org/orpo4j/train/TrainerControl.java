package org.orpo4j.train;

/** Lets a {@link TrainerListener} stop the run: the trainer finishes the current step, saves and returns. */
public final class TrainerControl {

    private volatile boolean stop;
    private volatile String reason;

    /** Asks the trainer to stop after the current step. */
    public void requestStop(String why) {
        reason = why;
        stop = true;
    }

    public boolean shouldStop() {
        return stop;
    }

    /** Why a listener stopped the run, or null. */
    public String reason() {
        return reason;
    }
}
