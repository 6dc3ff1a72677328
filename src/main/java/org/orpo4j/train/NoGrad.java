package org.orpo4j.train;

import ai.djl.pytorch.jni.JniUtils;

/** torch's {@code no_grad}: in-place parameter updates must not be recorded by autograd. */
final class NoGrad implements AutoCloseable {

    private final boolean previous;

    NoGrad() {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
