package org.orpo4j.train;

/**
 * The learning rate at each optimizer step, as HF's {@code get_scheduler} (a LambdaLR stepped once per
 * optimizer step): step {@code k} (0-based) uses {@code baseLr * lambda(k)}.
 */
public final class LrSchedule {

    private final LrSchedulerType type;
    private final double baseLr;
    private final long warmupSteps;
    private final long totalSteps;

    public LrSchedule(LrSchedulerType type, double baseLr, long warmupSteps, long totalSteps) {
        if (warmupSteps < 0 || totalSteps < 0) {
            throw new IllegalArgumentException("warmupSteps " + warmupSteps + " and totalSteps " + totalSteps
                    + " must be >= 0");
        }
        this.type = type;
        this.baseLr = baseLr;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    /** The schedule a config asks for over {@code totalSteps} optimizer steps. */
    public static LrSchedule of(OrpoConfig config, long totalSteps) {
        return new LrSchedule(config.lrSchedulerType(), config.learningRate(),
                warmupSteps(config.warmupSteps(), config.warmupRatio(), totalSteps), totalSteps);
    }

    /** HF's rule: explicit warmup steps win; otherwise {@code ceil(ratio * total)}. */
    public static long warmupSteps(int warmupSteps, double warmupRatio, long totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (long) Math.ceil(warmupRatio * totalSteps);
    }

    public long warmupSteps() {
        return warmupSteps;
    }

    public long totalSteps() {
        return totalSteps;
    }

    /** The learning rate applied at optimizer step {@code step} (0-based). */
    public double lr(long step) {
        return baseLr * factor(step);
    }

    /** HF's lambda for this schedule. */
    double factor(long step) {
        if (type == LrSchedulerType.CONSTANT) {
            return 1.0;
        }
        if (step < warmupSteps) {
            return (double) step / Math.max(1, warmupSteps);
        }
        double decaySteps = Math.max(1, totalSteps - warmupSteps);
        return switch (type) {
            case LINEAR -> Math.max(0.0, (totalSteps - step) / decaySteps);
            case COSINE -> Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((step - warmupSteps) / decaySteps))));
            default -> 1.0;
        };
    }
}
