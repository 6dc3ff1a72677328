package org.orpo4j.loss;

import ai.djl.pytorch.jni.JniUtils;

/** Sets PyTorch's grad mode for a block and restores it: off for the chunk passes, on for the small stage 2. */
final class GradMode implements AutoCloseable {

    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
    }

    static GradMode enabled(boolean enabled) {
        return new GradMode(enabled);
    }

    static boolean isEnabled() {
        return JniUtils.isGradMode();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
