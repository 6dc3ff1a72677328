package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.model.AttnImplementation;
import org.orpo4j.model.CausalLm;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.NativeTests;

/**
 * Acceptance 4: 2,000 optimizer steps of a tiny model leave the number of live NDArrays exactly where it was after
 * the first steps: under the user's manager (model, optimizer, trainer) and in every manager of the engine. The
 * RSS figures it prints go to docs/training.md.
 */
@ExtendWith(SingleThread.class)
class TrainerMemoryTest {

    static final int STEPS = 2000;

    @TempDir
    Path out;

    @Test
    void liveArrayCountIsFlatOverTwoThousandSteps() {
        runAndCheck(out, STEPS, null);
    }

    /** The same through torch's fused attention (arrays made by orpo4j's JNI), over 1,000 steps. */
    @Test
    void liveArrayCountIsFlatWithSdpa() {
        NativeTests.assumeFusedAttention();
        runAndCheck(out, 1000, AttnImplementation.SDPA);
    }

    /**
     * The RSS measurement for docs/training.md, free of JVM heap growth: run with a fixed, pre-touched heap, e.g.
     * {@code java -Xms512m -Xmx512m -XX:+AlwaysPreTouch -cp <test classpath> org.orpo4j.train.TrainerMemoryTest 2000}.
     */
    public static void main(String[] args) throws IOException {
        SingleThread.forThisProcess();
        Path dir = Files.createTempDirectory("orpo4j-memory");
        runAndCheck(dir, Integer.parseInt(args[0]), null);
    }

    static void runAndCheck(Path out, int steps, AttnImplementation attention) {
        OrpoConfig config = OrpoConfig.builder().learningRate(1e-3).perDeviceTrainBatchSize(2).maxSteps(steps)
                .loggingSteps(500).saveStrategy("no").outputDir(out.toString())
                .set(Settings.ATTN_IMPLEMENTATION, attention).build();
        Map<Long, Integer> live = new LinkedHashMap<>();
        Map<Long, Integer> liveEverywhere = new LinkedHashMap<>();
        Map<Long, Long> rss = new LinkedHashMap<>();
        NDManager systemManager = systemManager();
        long start = System.nanoTime();
        try (NDManager manager = DjlRuntime.newManager(Device.cpu());
                CausalLm model = Synthetic.model(manager, 8, 1, 3)) {
            new OrpoTrainer(model, config).addListener(new TrainerListener() {
                @Override
                public void onStep(TrainerState state, TrainerControl control) {
                    long step = state.globalStep();
                    if (step == 20 || step % 500 == 0) {
                        live.put(step, manager.getManagedArrays().size());
                        liveEverywhere.put(step, systemManager.getManagedArrays().size());
                        long rssKiB = rssKiB();
                        rss.put(step, rssKiB);

                    }
                }
            }).train(Synthetic.pairs(64, 1), null);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("%s: %d steps in %.1f s (%.1f ms/step); live arrays %s, in all managers %s; RSS KiB %s%n",
                attention == null ? "eager" : attention.hfName(), steps, seconds, 1000 * seconds / steps, live, liveEverywhere, rss);
        assertEquals(1 + steps / 500, live.size());
        for (long step : live.keySet()) {
            assertEquals(live.get(20L), live.get(step), "live arrays by step: " + live);
            assertEquals(liveEverywhere.get(20L), liveEverywhere.get(step), "all live arrays: " + liveEverywhere);
        }
    }

    /** The PyTorch engine's root of all managers (package-private in DJL), to count every live array. */
    static NDManager systemManager() {
        try {
            java.lang.reflect.Method m = PtNDManager.class.getDeclaredMethod("getSystemManager");
            m.setAccessible(true);
            return (NDManager) m.invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot reach DJL's PyTorch system manager", e);
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
