package org.orpo4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Builds the packed-row mask of {@code n} queries over {@code n} keys (window 64) and prints how many entries are
 * visible; {@code AttentionMaskTest} runs it in a JVM whose heap is smaller than the mask.
 */
public final class PackedMaskProbe {

    private PackedMaskProbe() {}

    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        long[] positions = new long[n];
        for (int i = 0; i < n; i++) {
            positions[i] = i;
        }
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            NDArray mask = AttentionMask.build(m, positions, positions, 64, 0);
            System.out.println("visible=" + mask.eq(0f).sum().getLong());
        }
    }
}
