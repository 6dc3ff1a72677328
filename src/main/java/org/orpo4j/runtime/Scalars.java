package org.orpo4j.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Scalars that are safe inside an autograd graph and cheap on a GPU. On CPU, DJL's {@code create(...)} wraps a Java
 * direct buffer without copying, and its {@code mul(Number)}/{@code div(Number)}/{@code minimum(Number)} overloads
 * close that scalar right after the op; backward still reads it, and once the GC has reclaimed the buffer the
 * gradient is computed from garbage (measured here: 20 of 20 backward passes wrong after a GC). On a GPU, every
 * {@code Number} overload copies its scalar to the device and waits for that copy, stalling the launch queue. Use
 * these instead of the {@code Number} overloads whenever the backward pass reads the scalar or the op runs per
 * layer or per tensor; {@code add}/{@code sub}/{@code clip} with a {@code Number} are safe on CPU, their backward
 * does not read it.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * A 0-dim array holding {@code value} in {@code like}'s dtype, attached to {@code like}'s manager, whose memory
     * libtorch owns, so neither closing it nor the GC can pull the value from under a pending backward pass. It
     * lives in host memory even when {@code like} is on a GPU: PyTorch reads a 0-dim CPU operand as a kernel
     * argument, with no device copy and no synchronisation.
     */
    public static NDArray like(NDArray like, double value) {
        NDManager manager = like.getManager();
        try (NDManager host = manager.newSubManager(Device.cpu())) {
            NDArray javaBacked = host.create(value); // float64, a view of a Java buffer
            NDArray owned = Owned.copy(javaBacked, like.getDataType());
            owned.attach(manager);
            return owned;
        }
    }

    /** As {@link #like}, but on {@code like}'s device: a backward seed must sit where its output does. */
    public static NDArray onDevice(NDArray like, double value) {
        NDArray host = like(like, value);
        if (host.getDevice().equals(like.getDevice())) {
            return host;
        }
        try (host) {
            return host.toDevice(like.getDevice(), true);
        }
    }
}
