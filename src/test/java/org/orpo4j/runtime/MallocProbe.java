package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Child JVM of {@link MallocTuningTest}: what the OS gets back when a 24 MiB tensor is freed below a live small one,
 * after one 24 MiB tensor came and went (the free that raises glibc's dynamic mmap threshold). Prints
 * {@code RETURNED_MB=x}.
 */
public final class MallocProbe {

    private static final Shape BIG = new Shape(6L << 20); // 24 MiB of float32

    private MallocProbe() {}

    public static void main(String[] args) throws IOException {
        try (NDManager root = DjlRuntime.newManager(ai.djl.Device.cpu())) {
            root.ones(BIG).close(); // mapped, then freed: glibc would raise its threshold past 24 MiB here
            NDArray big = root.ones(BIG); // ones: every page touched
            NDArray small = root.ones(new Shape(256)); // allocated after big, so big is not at the top of the heap
            double before = rssMb();
            big.close();
            System.out.printf("RETURNED_MB=%.1f%n", before - rssMb());
            small.close();
        }
    }

    private static double rssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
