package org.orpo4j.runtime;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * What the loaded PyTorch JNI can do beyond DJL's own build. The JNI that {@code scripts/native/build-djl-jni.sh}
 * builds knows bfloat16 and records autograd history in dtype casts; DJL's records none and terminates the JVM on
 * any bfloat16 array, so bfloat16 can't be probed directly. The cast is probed instead (one backward through a
 * float32 -> float64 cast of a one-element leaf), once per process, and stands for the whole build.
 */
public final class NativeFeatures {

    private static volatile Boolean orpo4jJni;

    private NativeFeatures() {}

    /** True when {@code toType} keeps the autograd graph (the orpo4j-built JNI). */
    public static boolean differentiableCasts() {
        Boolean known = orpo4jJni;
        if (known == null) {
            synchronized (NativeFeatures.class) {
                if (orpo4jJni == null) {
                    orpo4jJni = probe();
                }
                known = orpo4jJni;
            }
        }
        return known;
    }

    /** True when bfloat16 arrays can exist (the orpo4j-built JNI); creating one otherwise kills the JVM. */
    public static boolean bfloat16() {
        return differentiableCasts();
    }

    /** The one-line reason {@code --bf16} is refused, naming the fix. */
    public static String bfloat16Missing() {
        return "bf16 needs a PyTorch JNI that knows bfloat16, and DJL's own terminates the JVM on the first bfloat16"
                + " array: build one with scripts/native/build-djl-jni.sh and point PYTORCH_LIBRARY_PATH at it"
                + " (docs/gpu.md), or train with --fp16";
    }

    private static boolean probe() {
        try (NDManager manager = DjlRuntime.newManager(ai.djl.Device.cpu());
                GradMode on = GradMode.enabled(true)) {
            NDArray x = manager.ones(new ai.djl.ndarray.types.Shape(1));
            x.setRequiresGradient(true);
            NDArray y = x.toType(DataType.FLOAT64, false);
            try {
                JniUtils.backward((PtNDArray) y, (PtNDArray) y.onesLike(), false, false);
            } catch (EngineException noGraph) {
                return false; // "element 0 of tensors does not require grad": the cast cut the graph
            }
            return x.getGradient().getFloat(0) == 1f;
        }
    }
}
