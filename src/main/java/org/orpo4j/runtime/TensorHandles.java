package org.orpo4j.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import java.util.List;

/** DJL's native tensor handles, as orpo4j's JNI functions take them ({@code orpo4j/handles.h} reads them back). */
public final class TensorHandles {

    private TensorHandles() {}

    /** The handles of {@code arrays}, in order. */
    public static long[] of(List<NDArray> arrays) {
        long[] out = new long[arrays.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((PtNDArray) arrays.get(i)).getHandle();
        }
        return out;
    }
}
