package org.orpo4j.precision;

/**
 * Dynamic loss scaling with {@code torch.cuda.amp.GradScaler}'s semantics and defaults (init_scale 2^16,
 * growth_factor 2, backoff_factor 0.5, growth_interval 2000). float16 gradients of small losses underflow to
 * zero, so the loss is multiplied by {@link #scale()} before backward and the gradients divided by it after. A step
 * whose gradients hold Inf or NaN is skipped and the scale backed off; after {@code growthInterval} clean steps in a
 * row it grows. The scale is a float32, as GradScaler's tensor is, and a growth that would overflow it is dropped.
 */
public final class LossScaler {

    public static final float INIT_SCALE = 65536f;
    public static final float GROWTH_FACTOR = 2f;
    public static final float BACKOFF_FACTOR = 0.5f;
    public static final int GROWTH_INTERVAL = 2000;

    private final float growthFactor;
    private final float backoffFactor;
    private final int growthInterval;
    private float scale;
    private int growthTracker;

    /** GradScaler's defaults. */
    public LossScaler() {
        this(INIT_SCALE, GROWTH_FACTOR, BACKOFF_FACTOR, GROWTH_INTERVAL);
    }

    public LossScaler(float initScale, float growthFactor, float backoffFactor, int growthInterval) {
        if (!(initScale > 0) || !Float.isFinite(initScale)) {
            throw new IllegalArgumentException("initScale must be finite and > 0, got " + initScale);
        }
        if (!(growthFactor > 1)) {
            throw new IllegalArgumentException("growthFactor must be > 1, got " + growthFactor);
        }
        if (!(backoffFactor > 0 && backoffFactor < 1)) {
            throw new IllegalArgumentException("backoffFactor must be in (0, 1), got " + backoffFactor);
        }
        if (growthInterval < 1) {
            throw new IllegalArgumentException("growthInterval must be >= 1, got " + growthInterval);
        }
        this.scale = initScale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
    }

    /** The factor the loss is multiplied by before backward. */
    public float scale() {
        return scale;
    }

    /** Clean steps since the last growth or backoff (GradScaler's {@code _growth_tracker}). */
    public int growthTracker() {
        return growthTracker;
    }

    /** GradScaler's {@code update()} after a step whose unscaled gradients were ({@code foundInf}) or were not finite. */
    public void update(boolean foundInf) {
        if (foundInf) {
            scale *= backoffFactor;
            growthTracker = 0;
            return;
        }
        int successful = growthTracker + 1;
        if (successful == growthInterval) {
            float grown = scale * growthFactor;
            if (Float.isFinite(grown)) {
                scale = grown;
            }
            growthTracker = 0;
        } else {
            growthTracker = successful;
        }
    }

    /** The state a checkpoint keeps, GradScaler's {@code state_dict()} names. */
    public State state() {
        return new State(scale, growthTracker);
    }

    /** Continues from a checkpoint's state. */
    public void load(State state) {
        if (!(state.scale() > 0) || !Float.isFinite(state.scale()) || state.growthTracker() < 0) {
            throw new IllegalArgumentException("invalid loss scaler state " + state);
        }
        this.scale = state.scale();
        this.growthTracker = state.growthTracker();
    }

    /** @param scale the current scale; @param growthTracker clean steps counted toward the next growth */
    public record State(float scale, int growthTracker) {}
}
