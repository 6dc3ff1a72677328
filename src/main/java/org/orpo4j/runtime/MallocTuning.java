package org.orpo4j.runtime;

import java.util.List;
import java.util.Map;

/**
 * Keeps glibc's mmap threshold fixed, so the large buffers libtorch frees go back to the OS. glibc raises the
 * threshold (up to 32 MiB) whenever a mapped block is freed; after one training step every activation below that
 * size comes from the heap, which fragments and does not shrink, and the peak RSS of a run climbs step after step
 * with the same live tensors (docs/benchmarks.md, memory case b: 50 % of PyTorch eager's peak, 45 % fixed). A fixed
 * {@code M_MMAP_THRESHOLD} of 4 MiB maps the large buffers while the smaller ones stay on the heap, where reuse costs
 * no page faults (fixing it at glibc's 128 KiB floor made a step 40-60 % slower); {@code M_TRIM_THRESHOLD} (64 MiB)
 * returns a heap's free top. Applied once, when the engine starts with orpo4j's JNI; a user who tunes malloc in the
 * environment is left alone.
 */
public final class MallocTuning {

    /** Buffers from this size on are mapped, and unmapped when freed (the value of the benchmark above). */
    static final long MMAP_THRESHOLD = 4L << 20;

    /** Free memory glibc keeps at the top of a heap before returning it. */
    static final long TRIM_THRESHOLD = 64L << 20;

    /** Set to {@code default} to keep glibc's own behaviour. */
    static final String ENV = "ORPO4J_MALLOC";

    private static final List<String> GLIBC_VARIABLES = List.of("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_");

    private static volatile String state = "glibc's defaults (the engine has not started)";

    private MallocTuning() {}

    /** Applies the setting unless {@code environment} tunes malloc itself; remembers what it did for `orpo4j env`. */
    static void apply(Map<String, String> environment) {
        String own = userTuning(environment);
        if (own != null) {
            state = "as the environment sets it (" + own + ")";
        } else if (NativeExtension.returnLargeBuffersToOs(MMAP_THRESHOLD, TRIM_THRESHOLD)) {
            state = "large buffers returned to the OS (M_MMAP_THRESHOLD " + (MMAP_THRESHOLD >> 20)
                    + " MiB, M_TRIM_THRESHOLD " + (TRIM_THRESHOLD >> 20) + " MiB; " + ENV + "=default keeps glibc's)";
        } else {
            state = "glibc's defaults (no orpo4j JNI or no glibc)";
        }
    }

    /** What {@link #apply} did, in words. */
    public static String describe() {
        return state;
    }

    /** The variable by which the user tunes malloc already, or null. */
    static String userTuning(Map<String, String> environment) {
        if ("default".equals(environment.get(ENV))) {
            return ENV + "=default";
        }
        for (String name : GLIBC_VARIABLES) {
            if (environment.containsKey(name)) {
                return name;
            }
        }
        String tunables = environment.get("GLIBC_TUNABLES");
        return tunables != null && tunables.contains("glibc.malloc.") ? "GLIBC_TUNABLES" : null;
    }
}
