package org.orpo4j.precision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * The loss scaler against GradScaler's update rule (PyTorch's {@code _amp_update_scale_} kernel): on a step with
 * non-finite gradients the scale is multiplied by backoff_factor and the growth tracker reset; otherwise the tracker
 * counts up and, on reaching growth_interval, the scale is multiplied by growth_factor (unless that overflows float32)
 * and the tracker reset. The expected sequences below are derived by hand from that rule.
 */
class LossScalerTest {

    /** A scripted series with growth_interval 3: each row is (overflow?, scale after, tracker after). */
    @Test
    void scriptedSeriesWithAShortGrowthInterval() {
        LossScaler s = new LossScaler(1024f, 2f, 0.5f, 3);
        Object[][] script = {
            {false, 1024f, 1}, {false, 1024f, 2}, {false, 2048f, 0}, // third clean step in a row: grow
            {true, 1024f, 0}, // overflow: back off, reset
            {false, 1024f, 1}, {false, 1024f, 2},
            {true, 512f, 0}, {true, 256f, 0}, // consecutive overflows back off twice
            {false, 256f, 1}, {false, 256f, 2}, {false, 512f, 0}, {false, 512f, 1}, {false, 512f, 2},
            {false, 1024f, 0}, // growth again after another 3 clean steps
            {false, 1024f, 1}, {true, 512f, 0}, {false, 512f, 1},
        };
        for (int i = 0; i < script.length; i++) {
            s.update((Boolean) script[i][0]);
            assertEquals((Float) script[i][1], s.scale(), 0f, "scale after step " + (i + 1));
            assertEquals((Integer) script[i][2], s.growthTracker(), "growth tracker after step " + (i + 1));
        }
    }

    /**
     * GradScaler's defaults over 4,104 steps: 3 overflows take 2^16 to 2^13; 2,000 clean steps double it once;
     * an overflow halves it; 2,100 clean steps double it once more and leave the tracker at 100.
     */
    @Test
    void defaultsOverFourThousandSteps() {
        LossScaler s = new LossScaler();
        assertEquals(65536f, s.scale());
        for (int i = 0; i < 3; i++) {
            s.update(true);
        }
        assertEquals(8192f, s.scale());
        for (int i = 1; i <= 2000; i++) {
            s.update(false);
            assertEquals(i < 2000 ? 8192f : 16384f, s.scale(), 0f, "clean step " + i);
        }
        assertEquals(0, s.growthTracker());
        s.update(true);
        assertEquals(8192f, s.scale());
        for (int i = 0; i < 2100; i++) {
            s.update(false);
        }
        assertEquals(16384f, s.scale());
        assertEquals(100, s.growthTracker());
    }

    @Test
    void aGrowthThatWouldOverflowFloat32IsDropped() {
        LossScaler huge = new LossScaler(Float.MAX_VALUE, 2f, 0.5f, 1);
        huge.update(false);
        assertEquals(Float.MAX_VALUE, huge.scale());
        assertEquals(0, huge.growthTracker());
    }

    @Test
    void stateRoundTripsAndBadStatesAreRefused() {
        LossScaler s = new LossScaler();
        s.update(true);
        s.update(false);
        LossScaler t = new LossScaler();
        t.load(s.state());
        assertEquals(new LossScaler.State(32768f, 1), t.state());
        assertThrows(IllegalArgumentException.class, () -> t.load(new LossScaler.State(0f, 0)));
        assertThrows(IllegalArgumentException.class, () -> t.load(new LossScaler.State(Float.NaN, 0)));
        assertThrows(IllegalArgumentException.class, () -> t.load(new LossScaler.State(1f, -1)));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(1f, 1f, 0.5f, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(1f, 2f, 1f, 10));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(1f, 2f, 0.5f, 0));
    }
}
