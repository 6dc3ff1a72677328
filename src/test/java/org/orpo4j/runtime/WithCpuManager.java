package org.orpo4j.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Test fixture: one CPU manager per test class, opened before its first test and closed after its last. */
public abstract class WithCpuManager {

    protected static NDManager root;

    @BeforeAll
    static void openRoot() {
        root = DjlRuntime.newManager(Device.cpu());
    }

    @AfterAll
    static void closeRoot() {
        root.close();
    }
}
