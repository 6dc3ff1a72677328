package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Acceptance 4: 2,000 optimizer steps of a tiny model leave the number of live NDArrays (model, optimizer and
 * trainer managers) exactly where it was after the first steps. The RSS figures it prints go to docs/training.md.
 */
class TrainerMemoryTest {

    static final int STEPS = Integer.getInteger("memtest.steps", 2000);

    @TempDir
    Path out;

    @BeforeAll
    static void oneThread() {
        SingleThread.enter();
    }

    @AfterAll
    static void restoreThreads() {
        SingleThread.exit();
    }

    @Test
    void liveArrayCountIsFlatOverTwoThousandSteps() {
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(2).maxSteps(STEPS)
                .loggingSteps(500).saveStrategy("no").outputDir(out.toString()).build();
        Map<Long, Integer> live = new LinkedHashMap<>();
        Map<Long, Long> rss = new LinkedHashMap<>();
        Map<Long, Long> heap = new LinkedHashMap<>();
        long start = System.nanoTime();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 8, 1, 3)) {
            new OrpoTrainer(model, config).addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    long step = state.globalStep();
                    if (step == 20 || step % 500 == 0) {
                        live.put(step, manager.getManagedArrays().size());
                        rss.put(step, rssKiB());
                        Runtime rt = Runtime.getRuntime();
                        heap.put(step, (rt.totalMemory() - rt.freeMemory()) / 1024);
                    }
                }
            }).train(Synthetic.pairs(64, 1), null);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("%d steps in %.1f s (%.1f ms/step); live arrays %s; RSS KiB %s; Java heap used KiB %s%n",
                STEPS, seconds, 1000 * seconds / STEPS, live, rss, heap);
        assertEquals(5, live.size());
        for (int count : live.values()) {
            assertEquals(live.get(20L), count, "live arrays by step: " + live);
        }
    }

    static long rssKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
