package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerStateTest {

    @TempDir
    Path dir;

    @Test
    void positionAndHistoryRoundTrip() throws IOException {
        OrpoConfig config = OrpoConfig.builder().gradientAccumulationSteps(2).seed(9).learningRate(1e-4).build();
        TrainerState s = new TrainerState(config, 20, 5);
        assertEquals(3, s.stepsPerEpoch()); // ceil(5 / 2)
        for (int i = 0; i < 7; i++) {
            s.microBatchConsumed(10, 12);
            s.rollEpochIfDone();
        }
        s.stepDone(true);
        s.stepDone(false);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", 2L);
        line.put("loss", 1.5);
        s.log(line);
        assertEquals(1, s.epochIndex());
        assertEquals(2, s.microBatchInEpoch());
        assertEquals(1.4, s.epoch(), 1e-12);
        Path file = dir.resolve(TrainerState.FILE);
        s.write(file);
        TrainerState back = TrainerState.read(file);
        assertEquals(s.toJson(), back.toJson());
        assertEquals(2, back.globalStep());
        assertEquals(70, back.numInputTokensSeen());
        assertEquals(1, back.nonFiniteInARow());
        assertEquals(config, back.config());
        assertEquals(1.5, back.logHistory().get(0).get("loss"));
        assertEquals(9, back.toJson().get("rng").get("seed").asLong());

        Files.writeString(file, Files.readString(file).replace("\"global_step\"", "\"globalstep\""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainerState.read(file));
        assertEquals(file + ": missing field 'global_step'", e.getMessage());
    }

    @Test
    void progressLineAndDurations() {
        TrainerState s = new TrainerState(OrpoConfig.builder().build(), 300, 10);
        for (int i = 0; i < 40; i++) {
            s.stepDone(true);
        }
        String line = ProgressLogger.line(s, Map.of("loss", 1.23456, "rewards/accuracies", 0.625), 812.4, 192);
        assertEquals("step 40/300 (13%) | loss 1.2346 | rewards/accuracies 0.625 | 812 tok/s | ETA 3m12s", line);
        assertEquals("1h02m03s", ProgressLogger.duration(3723));
        assertEquals("7s", ProgressLogger.duration(7.2));
        assertEquals("?", ProgressLogger.duration(Double.NaN));
    }

    /**
     * Throughput over the last 20 steps, from the first step on (never a "0 tok/s" line), and the ETA from the
     * average step since training began: steps of 100 tokens taking 1 s, but step 3 took 11 s.
     */
    @Test
    void progressMeasuresAWindowFromTheFirstStep() {
        TrainerState s = new TrainerState(OrpoConfig.builder().build(), 100, 1000);
        long[] now = {5_000_000_000L};
        ProgressLogger p = new ProgressLogger(() -> now[0]);
        TrainerControl control = new TrainerControl();
        p.onTrainBegin(s, control);
        assertEquals(Double.NaN, p.tokensPerSecond());
        for (int step = 1; step <= 30; step++) {
            now[0] += (step == 3 ? 11 : 1) * 1_000_000_000L;
            s.microBatchConsumed(100, 120);
            s.stepDone(true);
            p.onStep(s, control);
            if (step == 1) {
                assertEquals(100.0, p.tokensPerSecond(), 1e-9);
                assertEquals(99.0, p.eta(s), 1e-9);
            }
            if (step == 20) {
                assertEquals(2000.0 / 30, p.tokensPerSecond(), 1e-9, "the slow step is still in the window");
            }
        }
        assertEquals(100.0, p.tokensPerSecond(), 1e-9, "steps 11-30: 2000 tokens in 20 s");
        assertEquals(40.0 / 30 * 70, p.eta(s), 1e-9, "40 s for 30 steps, 70 to go");
        assertTrue(ProgressLogger.line(s, Map.of(), Double.NaN, Double.NaN).contains("| ? tok/s | ETA ?"));
    }
}
