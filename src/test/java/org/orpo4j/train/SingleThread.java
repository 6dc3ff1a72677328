package org.orpo4j.train;

import ai.djl.pytorch.jni.JniUtils;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Tiny-model tests are dominated by per-op overhead, and libtorch's intra-op thread pool only adds barrier waits on
 * a loaded 2-core CI machine (measured: 120 ms/step with 2 threads, 33 with 1). Tests that run many steps switch
 * to one thread and restore the previous count afterwards.
 */
final class SingleThread {

    private static int previous = -1;

    private SingleThread() {}

    static void enter() {
        DjlRuntime.engine();
        previous = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
    }

    static void exit() {
        if (previous > 0) {
            JniUtils.setNumThreads(previous);
        }
    }
}
