package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScalarsTest {

    @Test
    void keepsDtypeAndValue() {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            NDArray f32 = manager.create(new float[] {1f});
            NDArray s = Scalars.like(f32, 0.1);
            assertEquals(DataType.FLOAT32, s.getDataType());
            assertEquals(0, s.getShape().dimension());
            assertEquals(0.1f, s.getFloat(), 0f);
            NDArray f64 = manager.create(new double[] {1.0});
            assertEquals(0.1, Scalars.like(f64, 0.1).getDouble(), 0.0);
        }
    }

    /**
     * The scalar is closed before backward and the GC runs in between, as inside an NDScope; the gradient must still
     * be exactly 1/4. (DJL's own {@code div(4f)} fails this test: its scalar's Java buffer is reclaimed and reused.)
     */
    @Test
    void survivesCloseAndGarbageCollectionBeforeBackward() throws InterruptedException {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            NDArray x = manager.create(new float[] {1f, 2f, 3f});
            x.setRequiresGradient(true);
            for (int it = 0; it < 5; it++) {
                try (NDManager step = manager.newSubManager();
                        GradientCollector collector = manager.getEngine().newGradientCollector()) {
                    NDArray y = step.zeros(x.getShape()).add(x);
                    NDArray quarter = Scalars.like(y, 0.25);
                    NDArray z = y.mul(quarter).sum();
                    quarter.close();
                    churnDirectMemory();
                    collector.backward(z);
                }
                try (NDArray grad = x.getGradient()) {
                    assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f}, grad.toFloatArray(), 0f, "pass " + it);
                    grad.subi(grad);
                }
            }
        }
    }

    /** Runs the GC and hands freed direct memory back out, filled with a value a dangling read would show. */
    private static void churnDirectMemory() throws InterruptedException {
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
