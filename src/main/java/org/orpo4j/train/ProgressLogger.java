package org.orpo4j.train;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console progress line, one per logged step through SLF4J (INFO):
 * {@code step 40/300 (13%) | loss 1.2345 | rewards/accuracies 0.625 | 812 tok/s | ETA 3m12s}. Throughput is measured
 * over the last {@link #WINDOW} steps (batches differ in length, so a single step swings), the ETA from the average
 * step since training began in this process (a resume restarts the clock, not the step count).
 */
public final class ProgressLogger implements TrainerListener {

    /** Steps the tokens-per-second figure averages over. */
    static final int WINDOW = 20;

    private static final Logger LOG = LoggerFactory.getLogger(ProgressLogger.class);

    private final LongSupplier clock;
    private final Deque<long[]> window = new ArrayDeque<>(); // {nanos, tokens seen} after recent steps
    private long beginNanos = -1;
    private long beginStep;

    public ProgressLogger() {
        this(System::nanoTime);
    }

    ProgressLogger(LongSupplier clock) {
        this.clock = clock;
    }

    @Override
    public void onTrainBegin(TrainerState state, TrainerControl control) {
        beginNanos = clock.getAsLong();
        beginStep = state.globalStep();
        window.clear();
        window.addLast(new long[] {beginNanos, state.numInputTokensSeen()});
    }

    @Override
    public void onStep(TrainerState state, TrainerControl control) {
        if (beginNanos < 0) {
            onTrainBegin(state, control);
            return;
        }
        window.addLast(new long[] {clock.getAsLong(), state.numInputTokensSeen()});
        if (window.size() > WINDOW + 1) {
            window.removeFirst();
        }
    }

    @Override
    public void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {
        if (LOG.isInfoEnabled()) {
            LOG.info(line(state, logs, tokensPerSecond(), eta(state)));
        }
    }

    @Override
    public void onEvaluate(TrainerState state, Map<String, Double> metrics, TrainerControl control) {
        if (LOG.isInfoEnabled()) {
            LOG.info(String.format(Locale.ROOT, "eval at step %d | eval_loss %.4f | eval_rewards/accuracies %.3f"
                    + " | eval_rewards/margins %.4f", state.globalStep(), metrics.getOrDefault("eval_loss", Double.NaN),
                    metrics.getOrDefault("eval_rewards/accuracies", Double.NaN),
                    metrics.getOrDefault("eval_rewards/margins", Double.NaN)));
        }
    }

    /** Tokens per second over the steps in the window; NaN before the first step. */
    double tokensPerSecond() {
        if (window.size() < 2) {
            return Double.NaN;
        }
        long[] first = window.peekFirst();
        long[] last = window.peekLast();
        double seconds = (last[0] - first[0]) / 1e9;
        return seconds > 0 ? (last[1] - first[1]) / seconds : Double.NaN;
    }

    /** Seconds left at the average step time since training began here; NaN before the first step. */
    double eta(TrainerState state) {
        long done = state.globalStep() - beginStep;
        if (beginNanos < 0 || done <= 0) {
            return Double.NaN;
        }
        double perStep = (window.peekLast()[0] - beginNanos) / 1e9 / done;
        return perStep * Math.max(0, state.maxSteps() - state.globalStep());
    }

    /** The progress line (package-visible for tests); an unknown throughput is left out, never shown as 0. */
    static String line(TrainerState state, Map<String, Double> logs, double tokensPerSecond, double etaSeconds) {
        long step = state.globalStep();
        long total = state.maxSteps();
        return String.format(Locale.ROOT, "step %d/%d (%d%%) | loss %.4f | rewards/accuracies %.3f | %s | ETA %s",
                step, total, total > 0 ? 100 * step / total : 0, logs.getOrDefault("loss", Double.NaN),
                logs.getOrDefault("rewards/accuracies", Double.NaN),
                Double.isFinite(tokensPerSecond) ? String.format(Locale.ROOT, "%.0f tok/s", tokensPerSecond)
                        : "? tok/s", duration(etaSeconds));
    }

    /** {@code 1h02m03s}, {@code 3m12s}, {@code 7s}; {@code ?} when unknown. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s % 3600 / 60, s % 60);
        }
        return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
