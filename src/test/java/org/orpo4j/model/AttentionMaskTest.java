package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;

/** The additive mask, entry by entry, for hand-worked cases (H = hidden = -Float.MAX_VALUE). */
class AttentionMaskTest {

    private static final float H = -Float.MAX_VALUE;

    @Test
    void causalAndPaddingForARightPaddedBatch() {
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            var keyMask = m.create(new long[] {1, 1, 0, 0, 0, 0}, new Shape(2, 3));
            float[] mask = AttentionMask.build(m, keyMask, 0, 3, null).toFloatArray(); // [2, 1, 3, 3]
            assertArrayEquals(new float[] {
                0, H, H, /**/ 0, 0, H, /**/ 0, 0, H, // row 0: query 2 is padding, still sees the real keys
                H, H, H, /**/ H, H, H, /**/ H, H, H, // row 1: all padding, all hidden (uniform after softmax)
            }, mask);
        }
    }

    @Test
    void cachedPrefixAndSlidingWindow() {
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            // 2 queries at positions 3 and 4 after 3 cached keys, window 2: key j visible iff p-2 < j <= p
            float[] mask = AttentionMask.build(m, null, 3, 2, 2).toFloatArray(); // [1, 1, 2, 5]
            assertArrayEquals(new float[] {
                H, H, 0, 0, H, //
                H, H, H, 0, 0,
            }, mask);
        }
    }

    @Test
    void packedRowPiecesByPositionWithAWindow() {
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            // queries at positions 3, 4; keys: a prompt 0..2, a chosen answer 3..4, a rejected token at 3; window 3
            float[] mask = AttentionMask.build(m, new long[] {3, 4}, new long[] {0, 1, 2, 3, 4, 3}, 3, 0)
                    .toFloatArray();
            assertArrayEquals(new float[] {
                H, 0, 0, 0, H, 0, //
                H, H, 0, 0, 0, 0,
            }, mask);
            float[] causal = AttentionMask.build(m, new long[] {1, 2}, new long[] {0, 1, 2}, null, 0).toFloatArray();
            assertArrayEquals(new float[] {0, 0, H, /**/ 0, 0, 0}, causal);
            // pads at positions 2, 3 over a row of keys 0, 1 and the pads themselves: the pads are never visible
            float[] pads = AttentionMask.build(m, new long[] {2, 3}, new long[] {0, 1, 2, 3}, null, 2).toFloatArray();
            assertArrayEquals(new float[] {0, 0, H, H, /**/ 0, 0, H, H}, pads);
        }
    }

    /** A 4096 x 4096 packed mask (64 MB) built in a JVM with a 48 MB heap: it lives in native memory. */
    @Test
    void aLongPackedRowsMaskNeverTouchesTheJavaHeap() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx48m",
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), PackedMaskProbe.class.getName(),
                "4096").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        long visible = 4096L * 64 - 64L * 63 / 2; // each query sees up to 64 keys, fewer in the first 63 rows
        assertEquals("visible=" + visible, out.lines().filter(l -> l.startsWith("visible=")).findFirst().orElse(out));
    }
}
