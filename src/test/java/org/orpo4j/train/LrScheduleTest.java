package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** LR schedules against transformers' optimization.py formulas, written out independently here. */
class LrScheduleTest {

    @Test
    void linearWarmupThenDecayToZero() {
        LrSchedule s = new LrSchedule(LrSchedulerType.LINEAR, 1e-3, 1, 5);
        double[] expected = {0.0, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3, 0.0};
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], s.lr(k), 1e-15, "step " + k);
        }
        LrSchedule w = new LrSchedule(LrSchedulerType.LINEAR, 2.0, 4, 10);
        assertEquals(2.0 * 3 / 4, w.lr(3), 1e-12);
        assertEquals(2.0 * 6 / 6, w.lr(4), 1e-12);
        assertEquals(2.0 * 3 / 6, w.lr(7), 1e-12);
        assertEquals(0.0, w.lr(12), 0.0); // clamped at 0 past the end
    }

    @Test
    void cosineAndConstantSchedules() {
        LrSchedule c = new LrSchedule(LrSchedulerType.COSINE, 1.0, 2, 10);
        assertEquals(0.5, c.lr(1), 1e-12);
        for (int k = 2; k <= 10; k++) {
            double progress = (k - 2) / 8.0;
            assertEquals(0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)), c.lr(k), 1e-12, "step " + k);
        }
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 0.5)), c.lr(6), 1e-12);
        LrSchedule constant = new LrSchedule(LrSchedulerType.CONSTANT, 3e-4, 5, 10);
        assertEquals(3e-4, constant.lr(0), 0.0); // HF's "constant" ignores warmup
        LrSchedule warm = new LrSchedule(LrSchedulerType.CONSTANT_WITH_WARMUP, 3e-4, 4, 10);
        assertEquals(3e-4 * 2 / 4, warm.lr(2), 1e-18);
        assertEquals(3e-4, warm.lr(9), 0.0);
    }

    @Test
    void warmupStepsWinOverRatioElseCeilOfRatio() {
        assertEquals(3, LrSchedule.warmupSteps(3, 0.5, 100));
        assertEquals(11, LrSchedule.warmupSteps(0, 0.101, 100)); // ceil(10.1)
        assertEquals(10, LrSchedule.warmupSteps(0, 0.1, 100));
        assertEquals(0, LrSchedule.warmupSteps(0, 0.0, 100));
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).warmupRatio(0.25).build();
        LrSchedule s = LrSchedule.of(config, 10);
        assertEquals(3, s.warmupSteps());
        assertEquals(1e-3 / 3, s.lr(1), 1e-18);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(LrSchedulerType.LINEAR, 1, -1, 10));
    }
}
