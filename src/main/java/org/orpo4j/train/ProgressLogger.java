package org.orpo4j.train;

import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console progress line, one per logged step through SLF4J (INFO):
 * {@code step 40/300 (13%) | loss 1.2345 | rewards/accuracies 0.625 | 812 tok/s | ETA 3m12s}.
 */
public final class ProgressLogger implements TrainerListener {

    private static final Logger LOG = LoggerFactory.getLogger(ProgressLogger.class);

    private long startNanos = -1;
    private long startStep;
    private long lastNanos;
    private long lastTokens;

    /** Marks the start of the timed span (the first step of this process, after a resume too). */
    void start(TrainerState state) {
        startNanos = System.nanoTime();
        lastNanos = startNanos;
        startStep = state.globalStep();
        lastTokens = state.numInputTokensSeen();
    }

    @Override
    public void onLog(TrainerState state, Map<String, Double> logs, TrainerControl control) {
        if (startNanos < 0) {
            start(state);
        }
        long now = System.nanoTime();
        double seconds = (now - lastNanos) / 1e9;
        double tokensPerSecond = seconds > 0 ? (state.numInputTokensSeen() - lastTokens) / seconds : 0;
        lastNanos = now;
        lastTokens = state.numInputTokensSeen();
        if (LOG.isInfoEnabled()) {
            LOG.info(line(state, logs, tokensPerSecond, eta(state, now)));
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

    /** The progress line (package-visible for tests). */
    static String line(TrainerState state, Map<String, Double> logs, double tokensPerSecond, double etaSeconds) {
        long step = state.globalStep();
        long total = state.maxSteps();
        return String.format(Locale.ROOT, "step %d/%d (%d%%) | loss %.4f | rewards/accuracies %.3f | %.0f tok/s | ETA %s",
                step, total, total > 0 ? 100 * step / total : 0, logs.getOrDefault("loss", Double.NaN),
                logs.getOrDefault("rewards/accuracies", Double.NaN), tokensPerSecond, duration(etaSeconds));
    }

    private double eta(TrainerState state, long now) {
        long done = state.globalStep() - startStep;
        if (done <= 0) {
            return Double.NaN;
        }
        double perStep = (now - startNanos) / 1e9 / done;
        return perStep * Math.max(0, state.maxSteps() - state.globalStep());
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
