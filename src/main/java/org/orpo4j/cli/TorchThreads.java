package org.orpo4j.cli;

import ai.djl.pytorch.jni.JniUtils;
import org.orpo4j.runtime.DjlRuntime;

/**
 * Sets PyTorch's intra-op CPU thread count for a block and restores it after. Tiny models (the demo's) run
 * fastest on one thread: their ops are too small to split, and on a busy machine extra threads mostly wait.
 */
final class TorchThreads implements AutoCloseable {

    private final int previous;

    TorchThreads(int threads) {
        DjlRuntime.engine(); // the native library must be loaded before its thread pool can be sized
        previous = JniUtils.getNumThreads();
        JniUtils.setNumThreads(threads);
    }

    @Override
    public void close() {
        JniUtils.setNumThreads(previous);
    }
}
