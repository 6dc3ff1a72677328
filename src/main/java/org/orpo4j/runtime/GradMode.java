package org.orpo4j.runtime;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Sets PyTorch's grad mode for a block and restores it (the chunked loss: off for its chunk passes, on for its small
 * stage 2). DJL exposes grad mode only through {@link JniUtils}.
 */
public final class GradMode implements AutoCloseable {

    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
    }

    public static GradMode enabled(boolean enabled) {
        return new GradMode(enabled);
    }

    public static boolean isEnabled() {
        return JniUtils.isGradMode();
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
