package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.orpo4j.runtime.DjlRuntime;

/**
 * The trap behind the trainer's {@code loss / G}: on CPU, DJL creates an array from Java data as a view of a direct
 * buffer that only the Java NDArray keeps alive, and {@code x.div(Number)} closes its scalar right after the op
 * while autograd keeps it for the backward pass; a GC in between lets the buffer be freed and reused, and the
 * gradient is computed from garbage. A divisor array owned by the step's manager lives until after backward.
 */
class ScalarLifetimeTest {

    @Test
    void aStepOwnedDivisorSurvivesGarbageCollectionBeforeBackward() throws InterruptedException {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            NDArray x = manager.create(new float[] {1f, 2f, 3f});
            x.setRequiresGradient(true);
            for (int it = 0; it < 5; it++) {
                try (NDManager step = manager.newSubManager();
                        GradientCollector collector = manager.getEngine().newGradientCollector()) {
                    NDArray y = step.zeros(x.getShape()).add(x).div(step.create(4f)).sum();
                    churnDirectMemory();
                    collector.backward(y);
                }
                float[] grad = x.getGradient().toFloatArray();
                for (float g : grad) {
                    assertEquals(0.25f, g, 0f, "iteration " + it);
                }
                Gradients.zero(List.of(x));
            }
        }
    }

    /** Runs the GC and hands freed direct memory back out, filled with a value a dangling read would show. */
    static void churnDirectMemory() throws InterruptedException {
        System.gc();
        Thread.sleep(20);
        List<ByteBuffer> junk = new ArrayList<>();
        for (int k = 0; k < 2000; k++) {
            ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            b.putFloat(0, 1e30f);
            junk.add(b);
        }
    }
}
