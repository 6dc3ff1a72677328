package org.orpo4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
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
}
