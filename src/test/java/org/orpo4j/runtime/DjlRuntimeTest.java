package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class DjlRuntimeTest {

    @Test
    void startsOfflineOnPyTorch() {
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            assertEquals("true", System.getProperty("ai.djl.offline"));
            assertEquals("PyTorch", manager.getEngine().getEngineName());
            NDArray a = manager.create(new float[] {1f, 2f, 3f});
            assertEquals(14f, a.dot(a).getFloat(), 0f);
        }
    }
}
