package org.orpo4j.train;

import ai.djl.pytorch.jni.JniUtils;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Tiny-model tests are dominated by per-op overhead, and libtorch's intra-op thread pool only adds barrier waits on
 * a loaded 2-core CI machine (measured: 120 ms/step with 2 threads, 33 with 1). Test classes that run many steps
 * declare {@code @ExtendWith(SingleThread.class)}: one thread for the class, the previous count restored after.
 */
final class SingleThread implements BeforeAllCallback, AfterAllCallback {

    private int previous = -1;

    /** One intra-op thread from now on: for the test mains that run in a process of their own. */
    static void forThisProcess() {
        DjlRuntime.engine();
        JniUtils.setNumThreads(1);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        DjlRuntime.engine();
        previous = JniUtils.getNumThreads();
        forThisProcess();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (previous > 0) {
            JniUtils.setNumThreads(previous);
        }
    }
}
