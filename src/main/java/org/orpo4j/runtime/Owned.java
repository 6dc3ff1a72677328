package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Copies of arrays made from Java data into libtorch's own memory. On CPU, DJL's {@code create(...)} wraps a Java
 * direct buffer that goes with the array; an autograd graph that outlives the array then reads whatever the GC
 * left there. DJL's {@code toType(type, true)} is no copy when the array already has that type (measured: the
 * shared-prompt row maps came back as the same buffer and gave wrong gradients after a GC), hence this.
 */
public final class Owned {

    private Owned() {}

    /** {@code javaBacked} as {@code type}, in memory that libtorch owns. */
    public static NDArray copy(NDArray javaBacked, DataType type) {
        return javaBacked.getDataType() == type ? javaBacked.duplicate() : javaBacked.toType(type, true);
    }
}
